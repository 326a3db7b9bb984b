// Package helmdiff holds only tests: they package chart directories with
// the root module's Helm replica (constructor/helmchart), which builds chart
// archives without the Helm SDK, and with the Helm SDK that this module
// links anyway, and require the same archive.
package helmdiff
