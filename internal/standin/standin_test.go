package standin

import (
	"context"
	"testing"
)

func TestImagesAreReproducible(t *testing.T) {
	ctx := context.Background()
	digest := func(big bool) string {
		img, err := Image(ctx)
		if big {
			img, err = Big(ctx, 2, 1<<20)
		}
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	for _, big := range []bool{false, true} {
		if a, b := digest(big), digest(big); a != b {
			t.Errorf("Big=%v: two builds gave %s and %s", big, a, b)
		}
	}
	img, err := Big(ctx, 3, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil || len(ls) != 4 {
		t.Fatalf("Big(3) layers = %d, %v; want 3 filler and the server", len(ls), err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65534:65534" || cfg.Config.Entrypoint[0] != "/server" {
		t.Errorf("config user %q entrypoint %q, want nobody and /server",
			cfg.Config.User, cfg.Config.Entrypoint)
	}
}
