// Package access is the one place that reaches content outside an OCM
// repository, for every access type that points at it: OCI artifacts in
// registries (OCIImage/v1 and its spellings ociArtifact, ociRegistry,
// ociImage), single registry blobs (OCIImageLayer/v1), Helm charts in
// chart repositories over HTTP(S) or oci:// (Helm/v1) and files on web
// servers (Wget/v1). Constructing (add), downloading, verifying and
// transferring all go through a Fetcher, so they agree on credentials,
// transport security, redirects and on the digest recorded for each kind:
//
//   - Resolve learns the digest of what an access names, as the reference
//     implementation records it (genericBlobDigest/v1, SHA-256: the
//     manifest or index digest of an OCI artifact, the sha256 of a chart
//     archive or a downloaded file), and the pinned access (an image
//     reference by tag gets "@sha256:…" appended; other accesses stay).
//   - PinResource does that for a descriptor resource and checks a digest
//     the resource already records.
//   - Open streams a blob (chart archive, file, registry blob) with its
//     size and media type; OpenVerified checks it against a recorded
//     digest while it streams. OpenArtifact resolves an OCI artifact to a
//     registry store and root descriptor, for graph copies.
//
// Transport: registries are reached over TLS unless the reference says
// http://, the host is a loopback address, or Options.PlainHTTP is set.
// HTTP(S) sources follow at most Options.MaxRedirects redirects, never
// from https to http, none when a Wget access says noRedirect; a redirect
// loop is an error naming the URL. Credentials come from .ocmconfig
// consumers (OCIRegistry, HelmChartRepository, Wget; matched by
// config.URLIdentityMatches) and, for registries, the docker config.
//
// Errors are typed (ErrNotFound, ErrDigestMismatch, ErrRedirect,
// ErrUnsupported, *MissingDigestError) and name the access, URL or
// reference at fault; they never mention CLI flags.
package access
