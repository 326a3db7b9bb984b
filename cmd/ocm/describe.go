package main

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/constructor"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

// typeDoc describes one type the code accepts; typeDocs builds the list
// from the tables the parsers use, so that it cannot fall behind them.
type typeDoc struct {
	Kind    string      `json:"kind"`
	Type    string      `json:"type"`
	Aliases []string    `json:"aliases,omitempty"`
	Fields  []typeField `json:"fields,omitempty"`
	Example string      `json:"example"`
}

type typeField struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required,omitempty"`
}

// typeKinds are the kinds of types described, in output order.
var typeKinds = []string{"input", "access", "repository", "credential", "credential-repository", "configuration"}

// typeKindAliases are the reference CLI's subsystem names.
var typeKindAliases = map[string]string{"ocm-repository": "repository", "credentials": "credential", "config": "configuration"}

func typeDocs() []typeDoc {
	var docs []typeDoc
	for _, in := range constructor.InputTypes() {
		d := typeDoc{Kind: "input", Type: in.Names[0], Aliases: in.Names[1:], Example: in.Example}
		for _, f := range in.Fields {
			d.Fields = append(d.Fields, typeField{Name: f.Name, Type: f.Kind})
		}
		docs = append(docs, d)
	}
	for _, a := range descriptor.AccessTypes {
		d := typeDoc{Kind: "access", Type: a.Spellings[0], Aliases: a.Spellings[1:]}
		ex := "type: " + d.Type + "\n"
		for _, f := range a.Required {
			d.Fields = append(d.Fields, typeField{Name: f, Type: "string", Required: true})
			ex += f + ": <" + f + ">\n"
		}
		d.Example = ex
		docs = append(docs, d)
	}
	byCanonical := map[string]*typeDoc{}
	for _, n := range reference.RepositoryTypeNames() {
		d := byCanonical[n.Canonical]
		if d == nil {
			d = &typeDoc{Kind: "repository", Type: n.Canonical}
			ex := "type: " + n.Canonical + "\n"
			for _, f := range repository.SpecFields(n.Canonical) {
				d.Fields = append(d.Fields, typeField{Name: f.Name, Type: "string", Required: f.Required})
				ex += f.Name + ": " + f.Example + "\n"
			}
			d.Example = ex
			byCanonical[n.Canonical] = d
		}
		if n.Name != n.Canonical {
			d.Aliases = append(d.Aliases, n.Name)
		}
	}
	for _, n := range reference.RepositoryTypeNames() {
		if d := byCanonical[n.Canonical]; d != nil {
			docs = append(docs, *d)
			delete(byCanonical, n.Canonical)
		}
	}
	for _, c := range config.CredentialTypes() {
		d := typeDoc{Kind: "credential", Type: c.Type(), Aliases: c.Names[1:]}
		ex := "type: " + d.Type + "\n"
		for _, f := range c.Fields {
			if f == "properties" {
				// Free-form properties; these are the ones registries use.
				d.Fields = append(d.Fields, typeField{Name: f, Type: "map[string]string"})
				ex += "properties:\n  username: <username>\n  password: <password>\n"
				continue
			}
			d.Fields = append(d.Fields, typeField{Name: f, Type: "string"})
			ex += f + ": <" + f + ">\n"
		}
		d.Example = ex
		docs = append(docs, d)
	}
	// Credential repositories: the fields of the struct the configuration
	// is decoded into.
	repo := typeDoc{Kind: "credential-repository", Type: config.DockerConfigType + "/v1", Aliases: []string{config.DockerConfigType}}
	rt := reflect.TypeOf(config.CredentialRepository{})
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" || name == "type" {
			continue
		}
		typ := rt.Field(i).Type.String()
		typ = strings.TrimPrefix(typ, "*")
		repo.Fields = append(repo.Fields, typeField{Name: name, Type: typ})
	}
	repo.Example = "type: " + repo.Type + "\ndockerConfigFile: ~/.docker/config.json\n"
	docs = append(docs, repo)
	for _, t := range append([]string{config.GenericType}, config.KnownTypes...) {
		docs = append(docs, typeDoc{Kind: "configuration", Type: t, Fields: configFields[t], Example: configExamples[t]})
	}
	return docs
}

// configFields and configExamples document the configuration types of
// config.KnownTypes; a test fails when a known type has no example here.
var configFields = map[string][]typeField{
	config.GenericType:     {{Name: "configurations", Type: "[]configuration", Required: true}},
	config.CredentialsType: {{Name: "consumers", Type: "[]{identity, credentials}"}, {Name: "repositories", Type: "[]{repository}"}},
	config.SigningType:     {{Name: "signer", Type: "RSASigningConfiguration/v1alpha1"}, {Name: "verifier", Type: "RSASigningConfiguration/v1alpha1"}},
	config.HTTPType:        httpConfigFields(),
	config.DeliveryType:    {{Name: "record", Type: "bool"}, {Name: "signature", Type: "string"}},
	config.TransferType:    {{Name: "recursive", Type: "int (-1: all references, 0: none)"}, {Name: "copyMode", Type: "localBlob|allResources"}, {Name: "uploadType", Type: "localBlob|ociArtifact"}},
}

// httpConfigFields are the fields of config.HTTPHost, plus hosts.
func httpConfigFields() []typeField {
	var out []typeField
	for _, f := range config.HTTPFields() {
		out = append(out, typeField{Name: f.Name, Type: f.Type})
	}
	return append(out, typeField{Name: "hosts", Type: "map[host or host:port]{the fields above}"})
}

var configExamples = map[string]string{
	config.GenericType: `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers: []
`,
	config.CredentialsType: `type: credentials.config.ocm.software
consumers:
- identity: {type: OCIRegistry, hostname: ghcr.io}
  credentials:
  - type: Credentials/v1
    properties: {username: <username>, password: <password>}
repositories:
- repository: {type: DockerConfig/v1, dockerConfigFile: ~/.docker/config.json}
`,
	config.SigningType: `type: signing.config.ocm.software
signer:
  type: RSASigningConfiguration/v1alpha1
  signatureAlgorithm: RSASSA-PSS
  signatureEncodingPolicy: PEM
`,
	config.DeliveryType: `type: delivery.config.ocm.software/v1alpha1
record: true
signature: default
`,
	config.TransferType: `type: transfer.config.ocm.software/v1alpha1
recursive: -1
copyMode: allResources
uploadType: localBlob
`,
	config.HTTPType: `type: http.config.ocm.software/v1alpha1
tcpDialTimeout: 10s
responseHeaderTimeout: 1m
idleBodyTimeout: 1m
retry: {maxRetries: 3, minWait: 200ms, maxWait: 3s}
hosts:
  registry.internal:5000:
    caFile: ca.pem
    clientCertFile: client.pem
    clientKeyFile: client-key.pem
`,
}

func newDescribeCommand() *cobra.Command {
	describe := &cobra.Command{Use: "describe", Short: "Describe OCM types"}
	describe.AddCommand(newTypesCommand())
	return describe
}

func newTypesCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "types [input|access|repository|credential ...]",
		Aliases: []string{"type"},
		Short:   "List the input, access, repository and credential types ocm accepts, with their fields and an example",
		Long: `List the types ocm accepts: inputs of component constructors, accesses
of resources and sources, repository specifications, and credentials in
configuration files. Every type is also accepted with the version suffix
/v1 (credentials: bare too); aliases are other spellings of the same type.`,
		Example: `  ocm describe types
  ocm describe types input -o yaml
  ocm get types access`,
		ValidArgs: typeKinds,
		RunE: func(cmd *cobra.Command, args []string) error {
			docs := typeDocs()
			if len(args) > 0 {
				var sel []typeDoc
				for _, a := range args {
					k := strings.ToLower(a)
					if r, ok := typeKindAliases[k]; ok {
						k = r
					}
					if !slices.Contains(typeKinds, k) {
						k = strings.TrimSuffix(k, "s") // inputs, repositories
						k = strings.Replace(k, "repositorie", "repository", 1)
					}
					if !slices.Contains(typeKinds, k) {
						return fmt.Errorf("unknown kind of type %q: use %s", a, strings.Join(typeKinds, ", "))
					}
					for _, d := range docs {
						if d.Kind == k {
							sel = append(sel, d)
						}
					}
				}
				docs = sel
			}
			return printTypeDocs(cmd.OutOrStdout(), output, docs)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, yaml, json")
	enumFlag(cmd, "output", "text", "yaml", "json")
	return cmd
}

func printTypeDocs(w io.Writer, output string, docs []typeDoc) error {
	switch output {
	case "json":
		data, err := json.MarshalIndent(docs, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	case "yaml":
		data, err := yaml.Marshal(docs)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	var b strings.Builder
	kind := ""
	for _, d := range docs {
		if d.Kind != kind {
			kind = d.Kind
			fmt.Fprintf(&b, "%s TYPES\n\n", strings.ToUpper(kind))
		}
		fmt.Fprintf(&b, "  %s", d.Type)
		if len(d.Aliases) > 0 {
			fmt.Fprintf(&b, " (also: %s)", strings.Join(d.Aliases, ", "))
		}
		b.WriteString("\n")
		for _, f := range d.Fields {
			req := ""
			if f.Required {
				req = ", required"
			}
			fmt.Fprintf(&b, "    %-20s %s%s\n", f.Name, f.Type, req)
		}
		b.WriteString("    example:\n")
		for _, line := range strings.Split(strings.TrimSuffix(d.Example, "\n"), "\n") {
			fmt.Fprintf(&b, "      %s\n", line)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
