//! sealpost-bench: the load generator of the benchmark (see bench/README.md).

fn main() {}
