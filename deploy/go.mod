module github.com/vecron/vecron/deploy

go 1.26.8

require (
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	github.com/stretchr/testify v1.12.1
	github.com/vecron/vecron v0.0.0-00010101000000-000000000000
	golang.org/x/text v0.44.0
	sigs.k8s.io/yaml v1.6.0
)

require (
	go.yaml.in/yaml/v2 v2.4.2 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
)

replace github.com/vecron/vecron => ../
