//go:build !scaleinprocess

package main

import (
	"context"
	"errors"
)

// startInProcess needs the gateway's packages, which the default build
// leaves out so that the benchmark depends only on the binary and its
// config: build with -tags scaleinprocess to use -inprocess.
func startInProcess(context.Context, string, string, chan<- error) (func(), error) {
	return nil, errors.New("-inprocess: build with -tags scaleinprocess")
}
