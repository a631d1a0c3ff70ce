// Misbehaving Go strategies for tests/strategyd/test_go_plugin.c, built by the
// Makefile into build/<variant>/tests/strategyd/plugins/go_*.so.
module strategyengine/tests/strategyd/go

go 1.19

require strategyengine/plugins/go v0.0.0

replace strategyengine/plugins/go => ../../../plugins/go
