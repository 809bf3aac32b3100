//! Loading and validating a large policy set (500 flow files) from disk,
//! the way `appflow-retry validate policies/` does: `make bench`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use appflow_retry_cli::validate::validate_paths;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const FLOWS: usize = 500;

fn write_set(dir: &Path) {
    fs::create_dir_all(dir.join("flows")).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    fs::copy(repo.join("default.yaml"), dir.join("default.yaml")).unwrap();
    let templates: Vec<String> = fs::read_dir(repo.join("flows"))
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    for i in 0..FLOWS {
        let text = &templates[i % templates.len()];
        let flow = text.lines().find_map(|l| l.strip_prefix("flow: ")).unwrap();
        let renamed = text.replace(&format!("flow: {flow}"), &format!("flow: {flow}-{i:03}"));
        fs::write(dir.join("flows").join(format!("{flow}-{i:03}.yaml")), renamed).unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path());
    let report = validate_paths(&[dir.path()]).unwrap();
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    assert_eq!(report.files_checked, FLOWS + 1);

    let mut g = c.benchmark_group("validate");
    g.sample_size(20);
    g.throughput(Throughput::Elements((FLOWS + 1) as u64));
    g.bench_function("500_flow_files_from_disk", |b| {
        b.iter(|| validate_paths(&[dir.path()]).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
