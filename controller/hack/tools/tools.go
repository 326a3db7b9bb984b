//go:build tools

// Package tools pins the code generators of the controller module in a module
// of their own, so their dependencies never enter the controller's go.mod.
package tools

import _ "sigs.k8s.io/controller-tools/cmd/controller-gen"
