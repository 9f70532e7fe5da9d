package disk

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"unicode/utf16"
)

// SectorSize is the logical sector size of the disks Build writes; GCE
// presents 512-byte sectors.
const SectorSize = 512

// Partition type GUIDs, from the UEFI specification and the Discoverable
// Partitions Specification.
var (
	TypeESP        = mustParseGUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
	TypeRootX86_64 = mustParseGUID("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709")
)

// GUID is a GPT identifier, held in the byte order of its text form.
// GPT stores the first three groups little-endian; the conversion happens
// only when a GUID is written or read.
type GUID [16]byte

// ParseGUID reads the form "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", in
// either case.
func ParseGUID(s string) (GUID, error) {
	var g GUID
	parts := strings.Split(s, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 ||
		len(parts[2]) != 4 || len(parts[3]) != 4 || len(parts[4]) != 12 {
		return g, fmt.Errorf("parsing GUID %q: want 8-4-4-4-12 hex digits", s)
	}
	if _, err := hex.Decode(g[:], []byte(strings.Join(parts, ""))); err != nil {
		return g, fmt.Errorf("parsing GUID %q: %w", s, err)
	}
	return g, nil
}

func mustParseGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

func (g GUID) String() string {
	h := strings.ToUpper(hex.EncodeToString(g[:]))
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" +
		h[20:]
}

// IsZero reports whether g is unset.
func (g GUID) IsZero() bool { return g == GUID{} }

// randomGUID returns a version 4 GUID.
func randomGUID() (GUID, error) {
	var g GUID
	if _, err := rand.Read(g[:]); err != nil {
		return g, fmt.Errorf("reading random GUID: %w", err)
	}
	g[6] = g[6]&0x0f | 0x40
	g[8] = g[8]&0x3f | 0x80
	return g, nil
}

// encode returns g in GPT's on-disk byte order.
func (g GUID) encode() [16]byte {
	var b [16]byte
	binary.LittleEndian.PutUint32(b[0:], binary.BigEndian.Uint32(g[0:]))
	binary.LittleEndian.PutUint16(b[4:], binary.BigEndian.Uint16(g[4:]))
	binary.LittleEndian.PutUint16(b[6:], binary.BigEndian.Uint16(g[6:]))
	copy(b[8:], g[8:])
	return b
}

func decodeGUID(b []byte) GUID {
	var g GUID
	binary.BigEndian.PutUint32(g[0:], binary.LittleEndian.Uint32(b[0:]))
	binary.BigEndian.PutUint16(g[4:], binary.LittleEndian.Uint16(b[4:]))
	binary.BigEndian.PutUint16(g[6:], binary.LittleEndian.Uint16(b[6:]))
	copy(g[8:], b[8:16])
	return g
}

// Partition is one GPT entry.
type Partition struct {
	Index    int // 1-based, as Linux numbers partitions
	Type     GUID
	GUID     GUID
	Name     string
	FirstLBA uint64
	LastLBA  uint64 // inclusive
}

// Offset is where the partition starts, in bytes from the disk's start.
func (p Partition) Offset() int64 { return int64(p.FirstLBA) * SectorSize }

// Size is the partition's length in bytes.
func (p Partition) Size() int64 {
	return int64(p.LastLBA-p.FirstLBA+1) * SectorSize
}

// The table has the usual 128 entries of 128 bytes (32 sectors), which
// puts the first usable sector at 34.
const (
	gptEntries     = 128
	gptEntrySize   = 128
	gptTableSecs   = gptEntries * gptEntrySize / SectorSize
	gptHeaderSize  = 92
	gptFirstUsable = 2 + gptTableSecs
	gptRevision    = 0x00010000
	gptSignature   = "EFI PART"
)

// lastUsableLBA is the last sector a partition may use on a disk of the
// given number of sectors: the backup table and header follow it.
func lastUsableLBA(sectors uint64) uint64 { return sectors - 2 - gptTableSecs }

// writeGPT writes a protective MBR and the primary and backup GPT for a
// disk of the given number of sectors.
func writeGPT(w io.WriterAt, sectors uint64, disk GUID,
	parts []Partition) error {
	if len(parts) > gptEntries {
		return fmt.Errorf("%d partitions, at most %d fit", len(parts), gptEntries)
	}
	table := make([]byte, gptEntries*gptEntrySize)
	for i, p := range parts {
		if p.Index != i+1 {
			return fmt.Errorf("partition %d has index %d", i+1, p.Index)
		}
		if p.FirstLBA < gptFirstUsable || p.LastLBA < p.FirstLBA ||
			p.LastLBA > lastUsableLBA(sectors) {
			return fmt.Errorf("partition %d spans sectors %d-%d, outside %d-%d",
				p.Index, p.FirstLBA, p.LastLBA, gptFirstUsable,
				lastUsableLBA(sectors))
		}
		e := table[i*gptEntrySize : (i+1)*gptEntrySize]
		t, u := p.Type.encode(), p.GUID.encode()
		copy(e[0:], t[:])
		copy(e[16:], u[:])
		binary.LittleEndian.PutUint64(e[32:], p.FirstLBA)
		binary.LittleEndian.PutUint64(e[40:], p.LastLBA)
		name := utf16.Encode([]rune(p.Name))
		if len(name) > 36 {
			return fmt.Errorf("partition name %q is longer than 36 units", p.Name)
		}
		for j, c := range name {
			binary.LittleEndian.PutUint16(e[56+2*j:], c)
		}
	}
	tableCRC := crc32.ChecksumIEEE(table)

	last := sectors - 1
	backupTable := last - gptTableSecs
	primary := gptHeader(1, last, 2, sectors, disk, tableCRC)
	backup := gptHeader(last, 1, backupTable, sectors, disk, tableCRC)
	for _, s := range []struct {
		lba  uint64
		data []byte
	}{
		{0, protectiveMBR(sectors)},
		{1, primary},
		{2, table},
		{backupTable, table},
		{last, backup},
	} {
		if _, err := w.WriteAt(s.data, int64(s.lba)*SectorSize); err != nil {
			return err
		}
	}
	return nil
}

// protectiveMBR claims the whole disk for one partition of type 0xEE, so
// that tools which know only MBR leave the disk alone.
func protectiveMBR(sectors uint64) []byte {
	b := make([]byte, SectorSize)
	e := b[446:]
	copy(e[1:4], []byte{0x00, 0x02, 0x00}) // CHS of LBA 1
	e[4] = 0xEE
	copy(e[5:8], []byte{0xFF, 0xFF, 0xFF})
	binary.LittleEndian.PutUint32(e[8:], 1)
	binary.LittleEndian.PutUint32(e[12:], uint32(min(sectors-1, 0xFFFFFFFF)))
	b[510], b[511] = 0x55, 0xAA
	return b
}

func gptHeader(self, alt, table, sectors uint64, disk GUID,
	tableCRC uint32) []byte {
	b := make([]byte, SectorSize)
	copy(b, gptSignature)
	binary.LittleEndian.PutUint32(b[8:], gptRevision)
	binary.LittleEndian.PutUint32(b[12:], gptHeaderSize)
	binary.LittleEndian.PutUint64(b[24:], self)
	binary.LittleEndian.PutUint64(b[32:], alt)
	binary.LittleEndian.PutUint64(b[40:], gptFirstUsable)
	binary.LittleEndian.PutUint64(b[48:], lastUsableLBA(sectors))
	d := disk.encode()
	copy(b[56:], d[:])
	binary.LittleEndian.PutUint64(b[72:], table)
	binary.LittleEndian.PutUint32(b[80:], gptEntries)
	binary.LittleEndian.PutUint32(b[84:], gptEntrySize)
	binary.LittleEndian.PutUint32(b[88:], tableCRC)
	binary.LittleEndian.PutUint32(b[16:], crc32.ChecksumIEEE(b[:gptHeaderSize]))
	return b
}

// readGPT reads and checks a disk's partition table: the protective MBR,
// both headers and both copies of the entries must be intact and agree.
func readGPT(r io.ReaderAt, size int64) (GUID, []Partition, error) {
	if size%SectorSize != 0 || size < (2*gptFirstUsable+1)*SectorSize {
		return GUID{}, nil, fmt.Errorf("size %d is not a whole number of "+
			"sectors big enough for a GPT", size)
	}
	sectors := uint64(size / SectorSize)
	mbr := make([]byte, SectorSize)
	if _, err := r.ReadAt(mbr, 0); err != nil {
		return GUID{}, nil, err
	}
	if mbr[510] != 0x55 || mbr[511] != 0xAA || mbr[446+4] != 0xEE {
		return GUID{}, nil, errors.New("no protective MBR")
	}

	disk, parts, err := readGPTCopy(r, 1, sectors)
	if err != nil {
		return GUID{}, nil, fmt.Errorf("primary GPT: %w", err)
	}
	bdisk, bparts, err := readGPTCopy(r, sectors-1, sectors)
	if err != nil {
		return GUID{}, nil, fmt.Errorf("backup GPT: %w", err)
	}
	if bdisk != disk || len(bparts) != len(parts) {
		return GUID{}, nil, errors.New("primary and backup GPT differ")
	}
	for i := range parts {
		if parts[i] != bparts[i] {
			return GUID{}, nil, errors.New("primary and backup GPT differ")
		}
	}
	return disk, parts, nil
}

func readGPTCopy(r io.ReaderAt, lba, sectors uint64) (GUID, []Partition,
	error) {
	b := make([]byte, SectorSize)
	if _, err := r.ReadAt(b, int64(lba)*SectorSize); err != nil {
		return GUID{}, nil, err
	}
	if string(b[:8]) != gptSignature {
		return GUID{}, nil, fmt.Errorf("no GPT signature at sector %d", lba)
	}
	hsize := binary.LittleEndian.Uint32(b[12:])
	if hsize < gptHeaderSize || hsize > SectorSize {
		return GUID{}, nil, fmt.Errorf("header size %d", hsize)
	}
	want := binary.LittleEndian.Uint32(b[16:])
	h := bytes.Clone(b[:hsize])
	binary.LittleEndian.PutUint32(h[16:], 0)
	if got := crc32.ChecksumIEEE(h); got != want {
		return GUID{}, nil, fmt.Errorf("header CRC %08x, want %08x", got, want)
	}
	if self := binary.LittleEndian.Uint64(b[24:]); self != lba {
		return GUID{}, nil, fmt.Errorf("header at sector %d says %d", lba, self)
	}
	first := binary.LittleEndian.Uint64(b[40:])
	last := binary.LittleEndian.Uint64(b[48:])
	if last >= sectors {
		return GUID{}, nil, fmt.Errorf("last usable sector %d beyond disk "+
			"of %d sectors", last, sectors)
	}
	disk := decodeGUID(b[56:])
	tableLBA := binary.LittleEndian.Uint64(b[72:])
	n := binary.LittleEndian.Uint32(b[80:])
	esize := binary.LittleEndian.Uint32(b[84:])
	if esize < 128 || esize%8 != 0 || n > 1024 {
		return GUID{}, nil, fmt.Errorf("%d entries of %d bytes", n, esize)
	}
	table := make([]byte, int(n)*int(esize))
	if _, err := r.ReadAt(table, int64(tableLBA)*SectorSize); err != nil {
		return GUID{}, nil, err
	}
	if got, want := crc32.ChecksumIEEE(table),
		binary.LittleEndian.Uint32(b[88:]); got != want {
		return GUID{}, nil, fmt.Errorf("entries CRC %08x, want %08x", got, want)
	}

	var parts []Partition
	for i := range int(n) {
		e := table[i*int(esize):]
		t := decodeGUID(e[0:])
		if t.IsZero() {
			continue
		}
		p := Partition{
			Index:    i + 1,
			Type:     t,
			GUID:     decodeGUID(e[16:]),
			FirstLBA: binary.LittleEndian.Uint64(e[32:]),
			LastLBA:  binary.LittleEndian.Uint64(e[40:]),
			Name:     decodeName(e[56:128]),
		}
		if p.FirstLBA < first || p.LastLBA > last || p.LastLBA < p.FirstLBA {
			return GUID{}, nil, fmt.Errorf("partition %d spans sectors %d-%d, "+
				"outside %d-%d", p.Index, p.FirstLBA, p.LastLBA, first, last)
		}
		parts = append(parts, p)
	}
	return disk, parts, nil
}

func decodeName(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}
