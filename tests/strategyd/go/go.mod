module strategyengine/tests/strategyd/go

go 1.19

require strategyengine/plugins/go v0.0.0

replace strategyengine/plugins/go => ../../../plugins/go
