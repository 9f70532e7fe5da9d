package disk

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testDisk writes a 24 MiB stand-in disk: text, then a hole, then more
// text, like a mostly empty file system. Pack needs no host tools, so
// its tests do not need Build.
func testDisk(t testing.TB) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	for i := 0; b.Len() < 4<<20; i++ {
		b.WriteString("line of a file in the image ")
		b.WriteString(strings.Repeat("x", i%97))
		b.WriteByte('\n')
	}
	data := make([]byte, 24<<20)
	copy(data, b.Bytes())
	copy(data[16<<20:], b.Bytes())
	path := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, data
}

func TestPack(t *testing.T) {
	disk, data := testDisk(t)
	for _, tc := range []struct {
		name string
		opts PackOptions
	}{
		{"parallel", PackOptions{}},
		{"serial", PackOptions{Serial: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			out := filepath.Join(dir, "disk.tar.gz")
			var calls [][2]int64
			tc.opts.Progress = func(done, total int64) {
				calls = append(calls, [2]int64{done, total})
			}
			res, err := Pack(ctx, disk, out, tc.opts)
			if err != nil {
				t.Fatalf("Pack() = %v", err)
			}

			packed, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(packed)
			want := PackResult{Size: int64(len(packed)),
				RawSize: int64(len(data)),
				SHA256:  hex.EncodeToString(sum[:])}
			if res != want {
				t.Errorf("Pack() = %+v, want %+v", res, want)
			}
			if res.Size >= res.RawSize/4 {
				t.Errorf("Pack() = %d bytes from %d, want it compressed",
					res.Size, res.RawSize)
			}

			raw := filepath.Join(dir, "unpacked.raw")
			if err := Unpack(ctx, out, raw); err != nil {
				t.Fatalf("Unpack() = %v", err)
			}
			got, err := os.ReadFile(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("Unpack(Pack(disk)) differs from disk")
			}

			if len(calls) < 2 {
				t.Fatalf("Progress calls = %v, want several", calls)
			}
			for i, c := range calls {
				if c[1] != int64(len(data)) ||
					(i > 0 && c[0] <= calls[i-1][0]) {
					t.Errorf("Progress calls = %v, want rising done of %d",
						calls, len(data))
					break
				}
			}
			if last := calls[len(calls)-1]; last[0] != last[1] {
				t.Errorf("last Progress call = %v, want done == total", last)
			}
			if _, err := os.Stat(out + ".tmp"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Stat(%s.tmp) = %v, want not exist", out, err)
			}
		})
	}
}

// TestPackReproducible: the same disk packs to the same bytes, so that
// an archive's digest identifies its disk.
func TestPackReproducible(t *testing.T) {
	disk, _ := testDisk(t)
	dir := t.TempDir()
	var sums []string
	for _, name := range []string{"a.tar.gz", "b.tar.gz"} {
		res, err := Pack(context.Background(), disk, filepath.Join(dir, name),
			PackOptions{})
		if err != nil {
			t.Fatalf("Pack() = %v", err)
		}
		sums = append(sums, res.SHA256)
	}
	if sums[0] != sums[1] {
		t.Errorf("Pack() twice = %s and %s, want the same", sums[0], sums[1])
	}
}

func TestPackCancel(t *testing.T) {
	disk, _ := testDisk(t)
	for _, tc := range []struct {
		name string
		// cancelAt is the Progress call that cancels; 0 cancels first.
		cancelAt int
	}{
		{"before start", 0},
		{"midway", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancelAt == 0 {
				cancel()
			}
			calls := 0
			opts := PackOptions{Progress: func(done, total int64) {
				if calls++; calls == tc.cancelAt {
					cancel()
				}
			}}
			dir := t.TempDir()
			_, err := Pack(ctx, disk, filepath.Join(dir, "disk.tar.gz"), opts)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Pack() = %v, want context.Canceled", err)
			}
			checkNothingLeft(t, dir)
		})
	}
}

// TestUnpackRejects feeds Unpack archives that GCE would not import.
func TestUnpackRejects(t *testing.T) {
	type member struct {
		name   string
		format tar.Format
	}
	for _, tc := range []struct {
		name    string
		members []member
		want    string
	}{
		{"wrong name", []member{{"disk.img", tar.FormatGNU}},
			`archive member is "disk.img", want "disk.raw"`},
		{"ustar", []member{{"disk.raw", tar.FormatUSTAR}},
			"in tar format USTAR, want GNU"},
		{"two members", []member{{"disk.raw", tar.FormatGNU},
			{"extra", tar.FormatGNU}}, "archive holds extra besides disk.raw"},
		{"empty", nil, "reading archive: EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			tw := tar.NewWriter(zw)
			for _, m := range tc.members {
				if err := tw.WriteHeader(&tar.Header{Name: m.name,
					Typeflag: tar.TypeReg, Mode: 0o644, Size: 3,
					ModTime: time.Unix(0, 0), Format: m.format}); err != nil {
					t.Fatal(err)
				}
				if _, err := tw.Write([]byte("abc")); err != nil {
					t.Fatal(err)
				}
			}
			if err := errors.Join(tw.Close(), zw.Close()); err != nil {
				t.Fatal(err)
			}
			archive := filepath.Join(dir, "a.tar.gz")
			if err := os.WriteFile(archive, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out.raw")
			err := Unpack(context.Background(), archive, out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Unpack() = %v, want an error saying %q", err, tc.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Stat(out) = %v, want no file left", err)
			}
		})
	}
}
