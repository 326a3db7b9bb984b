package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/delivery"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/signing"
)

// recordFlags are the --record flags of sign, verify and transfer.
type recordFlags struct {
	record    bool
	signature string
}

func (r *recordFlags) add(cmd *cobra.Command, withSignature bool) {
	f := cmd.Flags()
	f.BoolVar(&r.record, "record", false, "store a signed delivery record (in-toto statement in a DSSE envelope) of this step as an OCI referrer of the version")
	if withSignature {
		f.StringVar(&r.signature, "record-signature", "default", "with --record: the signature name whose key (from the configuration, as for sign) signs the record")
	}
}

// applyDeliveryConfig turns on --record (and its signature) for a command
// that has the flag when the configuration says to always record and the
// user did not set the flag; a dry run records nothing.
func applyDeliveryConfig(cmd *cobra.Command, cfg *config.Config) error {
	d, err := cfg.Delivery()
	if err != nil || !d.Record {
		return err
	}
	f := cmd.Flags()
	rec := f.Lookup("record")
	if rec == nil || rec.Changed {
		return nil
	}
	if dry := f.Lookup("dry-run"); dry != nil && dry.Value.String() == "true" {
		return nil
	}
	if err := rec.Value.Set("true"); err != nil {
		return err
	}
	if sig := f.Lookup("record-signature"); sig != nil && !sig.Changed && d.Signature != "" {
		return sig.Value.Set(d.Signature)
	}
	return nil
}

// recorder resolves the record signer: the key configured for the
// signature name, as sign cv finds it.
func (g *globalOptions) recorder(signature string, signer *signing.Signer) (delivery.Recorder, error) {
	bi, _ := debug.ReadBuildInfo()
	rec := delivery.Recorder{Signature: signature, Tool: delivery.Tool{Name: "ocm", Version: buildVersion(bi).Version}}
	if signer != nil {
		rec.Signer = *signer
		return rec, nil
	}
	sc, err := g.config.Signer(signature, false)
	if err != nil {
		return rec, fmt.Errorf("--record: %w", err)
	}
	if rec.Signer, err = signing.SignerFromConfig(g.config, signature, sc); err != nil {
		return rec, fmt.Errorf("--record needs the signing key of signature %q: %w", signature, err)
	}
	return rec, nil
}

type getDeliveryOptions struct {
	output    string
	publicKey string
}

func newGetDeliveryCommand(g *globalOptions) *cobra.Command {
	o := &getDeliveryOptions{}
	cmd := &cobra.Command{
		Use:     "delivery {reference}",
		Aliases: []string{"deliveries", "custody"},
		Short:   "Show the chain of custody of a component version from its delivery records",
		Long: `Show the delivery records of a component version (add, sign, transfer and
verify steps recorded with --record, deployments recorded by the Deployer
controller) as a timeline. Each record's DSSE signature is
verified with the key configured for the signature name it names (or
--public-key), and its subjects are compared with the version as it is now
(normalised descriptor digest and resource digests). Consecutive records must
connect: a step that happened elsewhere than where the previous one left the
version, or a version that arrived here without a record, is a gap.

Exits non-zero when a record does not verify or the chain has a gap.`,
		Example: `  ocm get delivery registry.internal/ocm//example.com/app:1.2.0 --public-key signing.pub
  ocm get delivery ./archive//example.com/app:1.2.0 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, args[0]) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, tree, json")
	enumFlag(cmd, "output", "table", "tree", "json")
	f.StringVar(&o.publicKey, "public-key", "", "PEM file with the public key that signed the records (default: from the configuration by signature name)")
	return cmd
}

func (o *getDeliveryOptions) run(cmd *cobra.Command, g *globalOptions, arg string) error {
	ref, err := reference.Parse(arg)
	if err != nil {
		return err
	}
	if ref.Version == "" {
		return fmt.Errorf("%s: name the version", arg)
	}
	ctx := cmd.Context()
	store, err := repository.OpenStore(ctx, ref.Repository, g.repositoryOptions())
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := verificationKeys(g.config, o.publicKey, false)
	if err != nil {
		return err
	}
	chain, err := delivery.ReadChain(ctx, store, delivery.Location(ref.Repository), ref.Component, ref.Version, delivery.KeyLookup(keys))
	if err != nil {
		return err
	}
	if o.output == "json" {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		if err := enc.Encode(chain); err != nil {
			return err
		}
	} else if o.output == "tree" {
		printTextTree(cmd.OutOrStdout(), chainTree(chain), "", "")
	} else if err := printChain(cmd.OutOrStdout(), chain); err != nil {
		return err
	}
	bad := 0
	for _, e := range chain.Entries {
		if !e.Verified() {
			bad++
		}
	}
	switch {
	case len(chain.Entries) == 0:
		return fmt.Errorf("%s:%s in %s has no delivery records", ref.Component, ref.Version, chain.Location)
	case bad > 0 || len(chain.Gaps) > 0:
		return fmt.Errorf("chain of custody of %s:%s: %d record(s) not verified, %d gap(s)", ref.Component, ref.Version, bad, len(chain.Gaps))
	}
	return nil
}

func printChain(w io.Writer, c *delivery.Chain) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tTIME\tACTION\tWHERE\tSIGNED BY\tVERIFIED")
	gapAt := func(i int) {
		for _, gp := range c.GapsAfter(i) {
			fmt.Fprintf(tw, "-\t\tGAP\t%s\t\t\n", gp.Reason)
		}
	}
	gapAt(-1)
	for i, e := range c.Entries {
		when, action, where, who := "?", "?", "", ""
		if st := e.Statement; st != nil {
			p := st.Predicate
			when, action, where = p.Time, p.Action, p.Repository
			if p.Transfer != nil {
				where = p.Transfer.Source + " -> " + p.Transfer.Target
			}
			if p.Sign != nil {
				action += " (" + p.Sign.Signature + ")"
			}
			if p.Verify != nil {
				action += " (" + p.Verify.Verdict + ")"
			}
			if d := p.Deploy; d != nil {
				action += fmt.Sprintf(" (%s, cluster %s, %d objects)", d.Deployer, d.Cluster, len(d.Objects))
			}
			who = p.Signer.Signature + " " + p.Signer.KeyFingerprint
		}
		status := "yes"
		if !e.Verified() {
			status = "NO: " + strings.Join(e.Problems, "; ")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", i+1, when, action, where, who, status)
		gapAt(i)
	}
	return tw.Flush()
}

// chainTree is the chain as a tree: one branch per step (and per gap) in
// order, its details below it.
func chainTree(c *delivery.Chain) textNode {
	root := textNode{label: fmt.Sprintf("%s:%s in %s", c.Component, c.Version, c.Location)}
	gapAt := func(i int) {
		for _, gp := range c.GapsAfter(i) {
			root.kids = append(root.kids, textNode{label: "GAP: " + gp.Reason})
		}
	}
	gapAt(-1)
	for i, e := range c.Entries {
		n := textNode{label: fmt.Sprintf("%d ? (record %s)", i+1, e.Manifest)}
		if st := e.Statement; st != nil {
			p := st.Predicate
			n.label = fmt.Sprintf("%d %s %s", i+1, p.Action, p.Time)
			kv := func(k, v string) {
				if v != "" {
					n.kids = append(n.kids, textNode{label: k + ": " + v})
				}
			}
			kv("tool", strings.TrimSpace(p.Tool.Name+" "+p.Tool.Version))
			kv("repository", p.Repository)
			if a := p.Add; a != nil {
				kv("constructor", a.Constructor)
				for _, in := range a.Resources {
					kv("resource "+in.Resource, strings.TrimSpace(strings.Join([]string{in.Input, in.Path, in.Access}, " ")))
				}
			}
			if sg := p.Sign; sg != nil {
				kv("signature", sg.Signature)
				kv("digest", sg.Digest)
			}
			if t := p.Transfer; t != nil {
				kv("from", t.Source)
				kv("to", t.Target)
				kv("copied", fmt.Sprintf("%d (%d bytes), skipped %d%s", t.Copied, t.BytesCopied, t.Skipped, map[bool]string{true: ", version already present"}[t.AlreadyPresent]))
				for _, cv := range t.Converted {
					kv("converted "+cv.Resource, access.Describe(cv.From)+" -> "+access.Describe(cv.To))
				}
			}
			if v := p.Verify; v != nil {
				kv("verdict", fmt.Sprintf("%s (signatures %s, content %v)", v.Verdict, strings.Join(v.Signatures, ","), v.Content))
			}
			if d := p.Deploy; d != nil {
				kv("cluster", d.Cluster)
				kv("deployer", strings.TrimSpace(d.Deployer+" (namespace "+d.Namespace+")"))
				kv("applyset", d.ApplySet)
				kv("resource", d.Resource)
				for _, o := range d.Objects {
					kv("applied "+o.Kind+" "+path.Join(o.Namespace, o.Name), o.Digest)
				}
				if d.Pruned > 0 {
					kv("pruned", strconv.Itoa(d.Pruned))
				}
			}
			kv("signed by", strings.TrimSpace(p.Signer.Signature+" "+p.Signer.KeyFingerprint))
		}
		if e.Verified() {
			n.kids = append(n.kids, textNode{label: "verified"})
		} else {
			n.kids = append(n.kids, textNode{label: "NOT VERIFIED: " + strings.Join(e.Problems, "; ")})
		}
		root.kids = append(root.kids, n)
		gapAt(i)
	}
	return root
}
