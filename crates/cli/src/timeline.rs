//! Plain-text time axes: `plan` draws each error class's restarts against
//! its retry window. Plain ASCII, so a timeline pasted into a ticket reads
//! the same; as wide as the terminal.

use std::fmt::Write as _;

use appflow_retry_policy::Duration;

/// One row: a label, marks at offsets (seconds from the first failure), the
/// row's end (its window), and what follows the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// What the row is (`throttling`, `transient, unknown`).
    pub label: String,
    /// Where each mark goes, in seconds from 0.
    pub marks: Vec<u64>,
    /// How a mark is drawn (`*`; a digit when marks share a column).
    pub glyph: char,
    /// The row's end, in seconds (drawn `|`); None: no axis, `note` alone.
    pub end: Option<u64>,
    /// After the row: how it ends.
    pub note: String,
}

/// Tick spacings the axis chooses from, in seconds.
const STEPS: [u64; 16] = [
    60, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400, 172_800, 345_600, 604_800, 1_209_600,
    2_592_000,
];

/// The rows on one axis `width` characters wide, the axis labelled with
/// durations from 0. A mark is its row's glyph, or the number of marks that
/// share its column (2-9, `#` above); `-` is time inside the row's end.
pub fn render(rows: &[Row], width: usize) -> String {
    render_with(rows, width, &|t| {
        if t == 0 {
            "0".to_owned()
        } else {
            Duration::from_secs(t).to_string()
        }
    })
}

/// [`render`] with the axis labelled by `label` (seconds from 0 → text).
pub fn render_with(rows: &[Row], width: usize, label: &dyn Fn(u64) -> String) -> String {
    let label_width = rows.iter().map(|r| r.label.chars().count()).max().unwrap_or(0).min(32);
    let note_width = rows
        .iter()
        .filter(|r| r.end.is_some())
        .map(|r| r.note.chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    let span = rows
        .iter()
        .filter_map(|r| r.end.map(|e| e.max(r.marks.iter().copied().max().unwrap_or(0))))
        .max()
        .unwrap_or(0)
        .max(1);
    // label, two spaces, the axis, a space, the note.
    let cols = width.saturating_sub(label_width + 3 + note_width).clamp(20, 200);
    let col = |secs: u64| -> usize {
        let c = (u128::from(secs) * (cols as u128 - 1) + u128::from(span) / 2) / u128::from(span);
        usize::try_from(c).unwrap_or(cols - 1).min(cols - 1)
    };
    let mut out = String::new();

    // The axis: a label every `step`, where it fits.
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= (cols / 9) as u64)
        .unwrap_or(STEPS[STEPS.len() - 1]);
    let mut axis = vec![' '; cols + 8];
    let mut t = 0;
    while t <= span {
        let text = label(t);
        let at = col(t);
        let free =
            axis[at..(at + text.len()).min(axis.len())].iter().all(|c| *c == ' ') && (at == 0 || axis[at - 1] == ' ');
        if free && at + text.len() <= axis.len() {
            for (i, ch) in text.chars().enumerate() {
                axis[at + i] = ch;
            }
        }
        t += step;
    }
    let axis: String = axis.into_iter().collect();
    let _ = writeln!(out, "{:label_width$}  {}", "", axis.trim_end());

    for r in rows {
        let label: String = r.label.chars().take(label_width).collect();
        let Some(end) = r.end else {
            let _ = writeln!(out, "{label:label_width$}  {}", r.note);
            continue;
        };
        let mut line = vec![' '; cols];
        for c in line.iter_mut().take(col(end) + 1) {
            *c = '-';
        }
        line[col(end)] = '|';
        let mut counts = vec![0u32; cols];
        for m in &r.marks {
            counts[col(*m)] += 1;
        }
        for (i, n) in counts.iter().enumerate() {
            line[i] = match n {
                0 => line[i],
                1 => r.glyph,
                2..=9 => char::from_digit(*n, 10).unwrap_or('#'),
                _ => '#',
            };
        }
        let line: String = line.into_iter().collect();
        let _ = writeln!(out, "{label:label_width$}  {} {}", line, r.note);
    }
    out.lines().map(str::trim_end).collect::<Vec<_>>().join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, marks: &[u64], end: Option<u64>, note: &str) -> Row {
        Row {
            label: label.to_owned(),
            marks: marks.to_vec(),
            glyph: '*',
            end,
            note: note.to_owned(),
        }
    }

    #[test]
    fn marks_land_in_proportion_and_the_window_ends_with_a_bar() {
        let rows = [
            row("transient", &[600, 1_800, 3_600], Some(7_200), "then give up"),
            row("auth", &[], None, "skipped: never restarted"),
        ];
        let text = render(&rows, 9 + 2 + 41 + 13);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let axis = lines[1].split_whitespace().nth(1).unwrap_or_default();
        // 41 columns for 2 hours: a mark at 10m, 30m, 1h; the bar at 2h.
        assert_eq!(axis.len(), 41, "{text}");
        assert_eq!(axis.chars().nth(3), Some('*'), "{text}");
        assert_eq!(axis.chars().nth(10), Some('*'), "{text}");
        assert_eq!(axis.chars().nth(20), Some('*'), "{text}");
        assert_eq!(axis.chars().nth(40), Some('|'), "{text}");
        assert!(lines[1].ends_with(" then give up"), "{text}");
        assert_eq!(lines[2], "auth       skipped: never restarted");
        assert!(
            lines[0].trim_start().starts_with('0') && lines[0].contains("1h"),
            "{text}"
        );
    }

    #[test]
    fn marks_sharing_a_column_are_counted() {
        let text = render(&[row("t", &[0, 1, 2, 3_600], Some(3_600), "")], 40);
        let line = text.lines().nth(1).unwrap_or_default();
        assert!(line.contains("t  3"), "{text}");
        assert!(line.trim_end().ends_with('*'), "the last mark covers the bar: {text}");
    }

    #[test]
    fn the_width_is_kept() {
        let rows = [row("throttling", &[60, 180, 420], Some(21_600), "give up at failure 4")];
        for width in [60, 80, 120, 200] {
            let text = render(&rows, width);
            for line in text.lines() {
                assert!(line.chars().count() <= width, "{width}: {text}");
            }
        }
    }
}
