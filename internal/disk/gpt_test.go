package disk

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestGUID(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		disk       []byte // GPT's on-disk order
	}{
		{name: "ESP type", text: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
			disk: []byte{0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11,
				0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B}},
		{name: "root type", text: "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
			disk: []byte{0xE3, 0xBC, 0x68, 0x4F, 0xCD, 0xE8, 0xB1, 0x4D,
				0x96, 0xE7, 0xFB, 0xCA, 0xF9, 0x84, 0xB7, 0x09}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ParseGUID(tc.text)
			if err != nil {
				t.Fatalf("ParseGUID(%q) = %v", tc.text, err)
			}
			if got := g.String(); got != tc.text {
				t.Errorf("ParseGUID(%q).String() = %q, want %q", tc.text, got,
					tc.text)
			}
			if got := g.encode(); !bytes.Equal(got[:], tc.disk) {
				t.Errorf("encode(%s) = % X, want % X", g, got, tc.disk)
			}
			if got := decodeGUID(tc.disk); got != g {
				t.Errorf("decodeGUID(% X) = %s, want %s", tc.disk, got, g)
			}
		})
	}

	for _, bad := range []string{"", "C12A7328F81F11D2BA4B00A0C93EC93B",
		"C12A7328-F81F-11D2-BA4B-00A0C93EC93", "X12A7328-F81F-11D2-BA4B-00A0C93EC93B"} {
		if _, err := ParseGUID(bad); err == nil {
			t.Errorf("ParseGUID(%q) = nil error, want one", bad)
		}
	}
}

func TestGPTRoundTrip(t *testing.T) {
	const sectors = 64 << 20 / SectorSize
	disk := mustParseGUID("11111111-2222-3333-4444-555555555555")
	parts := []Partition{
		{Index: 1, Type: TypeESP, Name: "ESP", FirstLBA: 2048, LastLBA: 4095,
			GUID: mustParseGUID("AAAAAAAA-2222-3333-4444-555555555555")},
		{Index: 2, Type: TypeRootX86_64, Name: "root", FirstLBA: 4096,
			LastLBA: lastUsableLBA(sectors),
			GUID:    mustParseGUID("BBBBBBBB-2222-3333-4444-555555555555")},
	}
	path := filepath.Join(t.TempDir(), "disk.raw")
	write := func() *os.File {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if err := f.Truncate(sectors * SectorSize); err != nil {
			t.Fatal(err)
		}
		if err := writeGPT(f, sectors, disk, parts); err != nil {
			t.Fatalf("writeGPT() = %v", err)
		}
		return f
	}

	f := write()
	gotDisk, gotParts, err := readGPT(f, sectors*SectorSize)
	if err != nil {
		t.Fatalf("readGPT() = %v", err)
	}
	if gotDisk != disk {
		t.Errorf("readGPT() disk GUID = %s, want %s", gotDisk, disk)
	}
	if len(gotParts) != len(parts) {
		t.Fatalf("readGPT() = %d partitions, want %d", len(gotParts),
			len(parts))
	}
	for i := range parts {
		if gotParts[i] != parts[i] {
			t.Errorf("readGPT() partition %d = %+v, want %+v", i+1,
				gotParts[i], parts[i])
		}
	}

	// Each damaged byte must be caught by a signature or a CRC.
	for _, tc := range []struct {
		name string
		off  int64
	}{
		{"MBR signature", 510},
		{"primary header", SectorSize + 60},
		{"primary entries", 2*SectorSize + 40},
		{"backup entries", (sectors - 33) * SectorSize},
		{"backup header", (sectors-1)*SectorSize + 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := write()
			b := []byte{0}
			if _, err := f.ReadAt(b, tc.off); err != nil {
				t.Fatal(err)
			}
			b[0] ^= 0xFF
			if _, err := f.WriteAt(b, tc.off); err != nil {
				t.Fatal(err)
			}
			if _, _, err := readGPT(f, sectors*SectorSize); err == nil {
				t.Errorf("readGPT() with damaged %s = nil error, want one",
					tc.name)
			}
		})
	}
}

func TestWriteGPTRejectsBadPartitions(t *testing.T) {
	const sectors = 8 << 20 / SectorSize
	for _, tc := range []struct {
		name string
		part Partition
	}{
		{"before first usable", Partition{Index: 1, Type: TypeESP,
			FirstLBA: 33, LastLBA: 100}},
		{"into backup table", Partition{Index: 1, Type: TypeESP,
			FirstLBA: 2048, LastLBA: sectors - 2}},
		{"ends before it starts", Partition{Index: 1, Type: TypeESP,
			FirstLBA: 4096, LastLBA: 2048}},
		{"wrong index", Partition{Index: 2, Type: TypeESP,
			FirstLBA: 2048, LastLBA: 4095}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "d"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := writeGPT(f, sectors, GUID{}, []Partition{tc.part}); err == nil {
				t.Errorf("writeGPT(%+v) = nil error, want one", tc.part)
			}
		})
	}
}
