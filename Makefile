.PHONY: test build demo bench-detect bench-proxy fmt vet

build:
	go build -o bin/ripcord ./cmd/ripcord

test:
	bash scripts/test.sh

demo:
	go run ./cmd/ripcord demo

vet:
	go vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

bench-detect:
	bash bench/detect/run.sh

bench-proxy:
	bash bench/proxy/run.sh
