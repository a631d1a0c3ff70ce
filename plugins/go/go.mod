// The Go strategies' module: package strat (the C ABI glue) and the example
// strategies, built by the Makefile into plugins/go_*.so. No outside modules.
module strategyengine/plugins/go

go 1.19
