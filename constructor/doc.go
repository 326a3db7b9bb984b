// Package constructor reads component-constructor.yaml files and turns the
// inputs they declare into content. It does not store anything: for every
// resource or source it yields either the access given in the file (kept
// verbatim, see CheckAccess) or a *Content that the storage layer writes.
//
// # File format
//
// The format is the reference CLI's (OCM v2, bindings/go/constructor/spec/v1):
// either a single component inline or a `components:` list. Parse checks it
// strictly and reports every problem with its file and field path, e.g.
//
//	component-constructor.yaml: components[0].resources[1].input.type: unknown input type "foo" (known: file, dir, utf8, helm, wget, ociImageLayout)
//
// Unknown fields are rejected (the reference's schema lets a few through,
// such as extra keys beside `components:` or inside input specs). Access
// specs are kept verbatim and only checked minimally.
//
// Defaults, as the reference applies them: a resource with an access gets
// relation external, one with an input relation local (an input-based
// resource declaring relation external is an error); a resource or source
// without a version gets the component version.
//
// # Environment variables
//
// Before parsing, `${NAME}` and `$NAME` are replaced in the whole file (as
// os.Expand does it, comments included). Unlike the reference, which
// silently substitutes an empty string, an unset variable is an error naming
// the variable, the file and the line. `$$` yields a literal `$` (os.Expand
// would look up a variable named "$"). A `$` followed by anything that cannot
// start a name (a space, a quote, `/`, the end of the file...) is left as it
// is. `${}` and an unterminated `${` are errors. There are no defaults
// (`${X:-y}` looks up a variable literally named "X:-y") and no templating.
//
// # Inputs
//
// Relative input paths are resolved against the directory of the
// constructor file. Input types, each under its canonical name and aliases
// with or without "/v1": File/v1 (file), Dir/v1 (dir), UTF8/v1 (utf8),
// Helm/v1 (helm; a chart directory or archive, or downloaded from a Helm
// repository or OCI registry; `repository: host/path:version` is checked
// against the chart version and, as by the reference CLI, not uploaded to),
// Wget/v1 (wget; downloaded over HTTP(S)) and
// ociImageLayout/v1 (ours; OCIImageLayout also works). A file or dir input
// with an OCI image layout media type is stored as a native OCI artifact,
// like ociImageLayout. Downloads go through access.Fetcher (credentials,
// TLS, redirects); see WithFetcher. See the *Input types in this package
// for their fields.
//
// # External content
//
// Resources given only by an access (OCI images, Helm charts, wget) are
// resolved by Build with BuildOptions.External, as the reference's digest
// processors do: image references by tag are pinned, digests recorded.
package constructor
