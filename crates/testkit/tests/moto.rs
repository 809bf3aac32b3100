//! Starts a real moto server.
//!
//! Needs `moto_server`: `make venv` installs it in `<workspace>/.venv`, or set
//! `MOTO_SERVER` to its path. Without it this test fails (it never passes
//! silently) with a message saying so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use appflow_retry_testkit::moto::Moto;
use serde_json::{Value, json};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().proxy(None).build().into()
}

/// Whether something accepts TCP connections at `address`.
fn accepts_connections(address: SocketAddr) -> bool {
    TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
}

#[test]
fn moto_starts_answers_resets_and_stops_on_drop() {
    let moto = Moto::start().unwrap_or_else(|error| panic!("cannot start moto: {error}"));

    let endpoint = moto.endpoint().to_owned();
    let address: SocketAddr = endpoint
        .strip_prefix("http://")
        .expect("endpoint is an http:// URL")
        .parse()
        .expect("endpoint is IP:PORT");
    assert!(address.ip().is_loopback(), "{endpoint}");

    // The endpoint answers, and the configuration from `start` is in place.
    let config: Value = agent()
        .get(format!("{endpoint}/moto-api/config"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    // Moto reports only `batch` and `lambda` here, not `stepfunctions`.
    assert_eq!(config["lambda"]["use_docker"], json!(false), "{config}");

    moto.reset().unwrap();
    moto.queue_lambda_results(&[json!({"status": "ok"}), json!("second")])
        .unwrap();
    moto.reset().unwrap();

    // Dropping the handle stops the server: the port refuses connections.
    assert!(accepts_connections(address));
    drop(moto);
    let deadline = Instant::now() + Duration::from_secs(5);
    while accepts_connections(address) {
        assert!(Instant::now() < deadline, "moto still listens on {address} after drop");
        std::thread::sleep(Duration::from_millis(50));
    }
}
