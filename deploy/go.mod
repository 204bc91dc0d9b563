module github.com/vecron/vecron/deploy

go 1.26.8

require github.com/vecron/vecron v0.0.0-00010101000000-000000000000

replace github.com/vecron/vecron => ../
