// Package referrer moves compatibility specs between component versions and
// OCI registries: it attaches them to images as NFD's referrer artifacts,
// finds the newest one attached to an image, and reads a version's spec
// blob verified. The spec model and its evaluation stay in package compat,
// which needs no registry client.
package referrer
