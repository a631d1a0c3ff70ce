module strategyengine/plugins/go

go 1.19
