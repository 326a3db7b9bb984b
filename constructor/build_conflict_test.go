package constructor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

// A version the target has already fails with ErrVersionExists under
// AbortAndFail (the CLI turns that into its flag hint), and is skipped
// under Skip.
func TestBuildConflictIsTyped(t *testing.T) {
	ctx := context.Background()
	spec, err := Parse([]byte("components:\n- name: example.com/conflict\n  version: 1.0.0\n  provider: {name: acme}\n"), "test", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	target := reference.Repository{Type: reference.TypeCTF, FilePath: filepath.Join(t.TempDir(), "ctf")}
	build := func(policy ConflictPolicy) ([]Result, error) {
		w, err := repository.OpenWritable(ctx, target, repository.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		res, err := Build(ctx, spec, w, BuildOptions{ConflictPolicy: policy, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err == nil {
			err = w.Commit()
		}
		return res, err
	}
	if _, err := build(AbortAndFail); err != nil {
		t.Fatal(err)
	}
	if _, err := build(AbortAndFail); !errors.Is(err, ErrVersionExists) {
		t.Fatalf("second build: %v, want ErrVersionExists", err)
	}
	res, err := build(Skip)
	if err != nil || len(res) != 1 || !res[0].Skipped {
		t.Fatalf("skip: %+v, %v", res, err)
	}
}
