"""Operations tooling run from the checkout: the demo, benchmarks and dataset loading."""
