//! What the commands print that more than one of them prints.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use purrceptron::model::{per_class_accuracy, Evaluation, TrainingProgress};

/// `0.7` -> `70.0%`.
pub fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// The train and test accuracy lines of `train` and `eval`.
pub fn print_eval(eval: &Evaluation) {
    println!(
        "train accuracy  {} ({} images)",
        pct(eval.train_accuracy),
        eval.n_train
    );
    match (eval.test_accuracy, eval.test_majority_baseline) {
        (Some(acc), Some(base)) => println!(
            "test accuracy   {} ({} images; always guessing the majority class scores {})",
            pct(acc),
            eval.n_test,
            pct(base)
        ),
        _ => println!("test accuracy   - (no test split)"),
    }
    let (split, confusion) = match &eval.test_confusion {
        Some(c) => ("test", c),
        None => ("train", &eval.train_confusion),
    };
    print_confusion(split, &eval.classes, confusion);
}

/// Each class's accuracy on `split` and its confusion matrix, in columns as wide as the
/// longest class name.
fn print_confusion(split: &str, classes: &[String], confusion: &[Vec<usize>]) {
    let width = classes
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    println!("{split} split, per class:");
    for ((name, accuracy), row) in classes
        .iter()
        .zip(per_class_accuracy(confusion))
        .zip(confusion)
    {
        let n: usize = row.iter().sum();
        let accuracy = accuracy.map_or("-".to_string(), pct);
        println!("  {name:<width$}  {accuracy:>6} of {n} right");
    }
    println!("{split} split, confusion matrix (rows: true class, columns: predicted):");
    let mut head = format!("  {:<width$}", "");
    for name in classes {
        head.push_str(&format!("  {name:>width$}"));
    }
    println!("{head}");
    for (name, row) in classes.iter().zip(confusion) {
        let mut line = format!("  {name:<width$}");
        for n in row {
            line.push_str(&format!("  {n:>width$}"));
        }
        println!("{line}");
    }
}

/// Redraws the progress line on stderr: a bar with the cost and the time left for a network,
/// the stage and its share done for the learned-feature model.
pub fn draw_progress(p: &TrainingProgress, start: Instant) {
    if let Some(stage) = p.stage {
        eprint!(
            "\r{:<10} {:>5.1}% of the stage, {:>5.1}% overall ",
            stage,
            100.0 * p.stage_done.unwrap_or(0.0),
            100.0 * p.done as f64 / (p.iterations as f64).max(1e-9)
        );
    } else {
        const WIDTH: usize = 30;
        let done = p.done.min(p.iterations) * WIDTH / p.iterations.max(1);
        let elapsed = start.elapsed().as_secs_f64();
        let left = if p.done > 0 {
            elapsed * p.iterations.saturating_sub(p.done) as f64 / p.done as f64
        } else {
            0.0
        };
        eprint!(
            "\r[{}{}] {:>7}/{} cost {:.6}  {:.1}s left ",
            "#".repeat(done),
            " ".repeat(WIDTH - done),
            p.done,
            p.iterations,
            p.cost.unwrap_or(f64::NAN),
            left
        );
    }
    let _ = std::io::stderr().flush();
}

/// The exit code of a command that classified `total` photos (`predict`, `imagenet`), after
/// their lines: 2, said on stderr, when `failed` of them could not be classified.
pub fn photos_exit_code(failed: usize, total: usize) -> ExitCode {
    let _ = std::io::stdout().flush();
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("{failed} of {total} photos could not be classified");
        ExitCode::from(2)
    }
}
