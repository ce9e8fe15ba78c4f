// Package manifest reads and writes the MANIFEST, the one file that says
// which files of a data directory are live: the current write-ahead log,
// the sorted tables newest first, and the next file number. It is a short
// text file, readable with cat, ending with a CRC-32C of everything before
// it. It is replaced atomically: written under a temporary name, synced,
// renamed over the old one, and the directory synced.
package manifest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kvtool/kv/internal/crc32c"
	"github.com/kvtool/kv/pkg/vfs"
)

// Wire-format constants.
const (
	// FileName is the manifest's name in the data directory.
	FileName = "MANIFEST"
	// Version is the store format version the manifest declares.
	Version = 1
	// MaxSize bounds a manifest; a larger file is damage.
	MaxSize = 1 << 20
	// MaxTables bounds the number of tables a manifest may name.
	MaxTables = 10000
	header    = "kv-manifest"
	tmpPrefix = FileName + ".tmp-"
)

// ErrCorrupt is wrapped by errors about a damaged manifest.
var ErrCorrupt = errors.New("corrupt manifest")

// ErrUnsupportedVersion is returned for an intact manifest of a store
// format version this package does not know: a newer kv wrote it. It is
// not damage, and nothing should repair it.
var ErrUnsupportedVersion = errors.New("unsupported store format version")

// CorruptError names the byte offset of the damage.
type CorruptError struct {
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Reason) }

// Unwrap lets errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// Table is one live sorted table.
type Table struct {
	Num  uint64
	Size int64
}

// Manifest is the live state of a store.
type Manifest struct {
	// WAL is the file number of the current write-ahead log.
	WAL uint64
	// NextFile is the next unused file number.
	NextFile uint64
	// Tables are the live tables, newest first.
	Tables []Table
}

// TableName is the file name of table num.
func TableName(num uint64) string { return fmt.Sprintf("%06d.sst", num) }

// WALName is the file name of log num.
func WALName(num uint64) string { return fmt.Sprintf("%06d.wal", num) }

// MaxFileNum is the largest file number a store uses. Numbers above it
// are not store file names (ParseName), a manifest whose next-file is
// above MaxFileNum+1 is corrupt (Decode), and a writer that would need a
// number above it refuses (ErrFileNumbersExhausted), so a number never
// wraps to 0, which no reader accepts. At a million files a second it
// lasts over 140,000 years.
const MaxFileNum uint64 = 1 << 62

// ErrFileNumbersExhausted is returned when a new file would need a number
// above MaxFileNum.
var ErrFileNumbersExhausted = errors.New("file numbers exhausted (above 2^62)")

// ParseName parses a table or log file name; ext is "sst" or "wal".
// Anything else, a path with a separator or "..", or a number above
// MaxFileNum, is refused.
func ParseName(name string) (num uint64, ext string, ok bool) {
	base, ext, found := strings.Cut(name, ".")
	if !found || (ext != "sst" && ext != "wal") || len(base) < 6 || len(base) > 20 {
		return 0, "", false
	}
	for _, c := range base {
		if c < '0' || c > '9' {
			return 0, "", false
		}
	}
	num, err := strconv.ParseUint(base, 10, 64)
	// Only the canonical spelling names a file: 0000001.sst is not
	// 000001.sst, so the engine and Verify agree on every name.
	if err != nil || num == 0 || num > MaxFileNum || fmt.Sprintf("%06d", num) != base {
		return 0, "", false
	}
	return num, ext, true
}

// IsTemp reports whether name is a temporary manifest left by a crash.
func IsTemp(name string) bool { return strings.HasPrefix(name, tmpPrefix) }

// Encode returns the manifest's bytes. They depend only on m.
func (m *Manifest) Encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", header, Version)
	fmt.Fprintf(&b, "wal %s\n", WALName(m.WAL))
	fmt.Fprintf(&b, "next-file %d\n", m.NextFile)
	for _, t := range m.Tables {
		fmt.Fprintf(&b, "table %s %d\n", TableName(t.Num), t.Size)
	}
	fmt.Fprintf(&b, "crc32c %08x\n", crc32c.Checksum(b.Bytes()))
	return b.Bytes()
}

// Decode parses and checks a manifest.
func Decode(data []byte) (*Manifest, error) {
	if len(data) > MaxSize {
		return nil, &CorruptError{0, fmt.Sprintf("manifest of %d bytes exceeds the %d-byte limit", len(data), MaxSize)}
	}
	body, sumLine, ok := cutLastLine(data)
	if !ok {
		return nil, &CorruptError{0, "no checksum line"}
	}
	sumOff := int64(len(body))
	hexSum, found := strings.CutPrefix(sumLine, "crc32c ")
	want, err := strconv.ParseUint(hexSum, 16, 32)
	// Only the spelling Encode writes: a flipped letter case in the hex
	// digits is damage too, though the value parses the same.
	if !found || err != nil || hexSum != fmt.Sprintf("%08x", want) {
		return nil, &CorruptError{sumOff, "malformed checksum line"}
	}
	if crc32c.Checksum(body) != uint32(want) {
		return nil, &CorruptError{sumOff, "checksum mismatch"}
	}
	m := &Manifest{}
	seen := map[uint64]bool{}
	var haveWAL, haveNext bool
	off := int64(0)
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	for i, line := range lines {
		bad := func(format string, args ...any) error {
			return &CorruptError{off, fmt.Sprintf("line %d: ", i+1) + fmt.Sprintf(format, args...)}
		}
		f := strings.Split(line, " ")
		switch {
		case i == 0:
			if len(f) != 2 || f[0] != header {
				return nil, bad("not a kv manifest")
			}
			if v, err := strconv.ParseUint(f[1], 10, 32); err != nil || f[1] != strconv.FormatUint(v, 10) {
				return nil, bad("malformed format version %q", f[1])
			} else if v != Version {
				return nil, fmt.Errorf("%w %d (this kv reads version %d)", ErrUnsupportedVersion, v, Version)
			}
		case f[0] == "wal" && len(f) == 2 && !haveWAL:
			num, ext, ok := ParseName(f[1])
			if !ok || ext != "wal" {
				return nil, bad("bad log name %q", f[1])
			}
			m.WAL, haveWAL = num, true
			seen[num] = true
		case f[0] == "next-file" && len(f) == 2 && !haveNext:
			n, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil || n > MaxFileNum+1 {
				return nil, bad("bad next file number")
			}
			m.NextFile, haveNext = n, true
		case f[0] == "table" && len(f) == 3:
			num, ext, ok := ParseName(f[1])
			if !ok || ext != "sst" {
				return nil, bad("bad table name %q", f[1])
			}
			size, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil || size < 0 {
				return nil, bad("bad table size")
			}
			if seen[num] {
				return nil, bad("file number %d named twice", num)
			}
			if len(m.Tables) >= MaxTables {
				return nil, bad("more than %d tables", MaxTables)
			}
			seen[num] = true
			m.Tables = append(m.Tables, Table{Num: num, Size: size})
		default:
			return nil, bad("unexpected line %q", truncate(line))
		}
		off += int64(len(line)) + 1
	}
	if !haveWAL || !haveNext {
		return nil, &CorruptError{0, "missing wal or next-file line"}
	}
	for num := range seen {
		if num >= m.NextFile {
			return nil, &CorruptError{0, fmt.Sprintf("file number %d not below next-file %d", num, m.NextFile)}
		}
	}
	return m, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func cutLastLine(data []byte) (body []byte, last string, ok bool) {
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, "", false
	}
	i := bytes.LastIndexByte(data[:len(data)-1], '\n')
	if i < 0 {
		return nil, "", false
	}
	return data[:i+1], string(data[i+1 : len(data)-1]), true
}

// Read reads and decodes the manifest of dir. A missing manifest returns
// an error satisfying errors.Is(err, fs.ErrNotExist).
func Read(fs vfs.FS, dir string) (*Manifest, error) {
	name := filepath.Join(dir, FileName)
	st, err := fs.Stat(name)
	if err != nil {
		return nil, err
	}
	if st.Size > MaxSize {
		return nil, &CorruptError{0, fmt.Sprintf("manifest of %d bytes exceeds the %d-byte limit", st.Size, MaxSize)}
	}
	data, err := vfs.ReadFile(fs, name)
	if err != nil {
		return nil, err
	}
	return Decode(data)
}

// Write replaces the manifest of dir atomically and durably: when Write
// returns nil, a crash at any later moment finds the new manifest. When it
// fails before the rename (or a crash comes first), the old one stays in
// place. When the rename succeeded but the directory sync after it failed,
// Write returns that error with the new manifest in place but perhaps not
// durable: a later open may find either one, so the caller must keep every
// file that either names (the engine stops using its handle and removes
// nothing). That error, and only that one, wraps ErrNotDurable.
func Write(fs vfs.FS, dir string, m *Manifest) error {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	// An unpredictable name, created exclusively, so nothing planted in
	// its place is ever written through.
	tmp := filepath.Join(dir, tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := fs.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(m.Encode(), 0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, filepath.Join(dir, FileName))
	}
	if err != nil {
		_ = fs.Remove(tmp)
		return err
	}
	if err := fs.SyncDir(dir); err != nil {
		return fmt.Errorf("%w: %w", ErrNotDurable, err)
	}
	return nil
}

// ErrNotDurable is wrapped by Write's error when the new manifest is in
// place but the directory sync that makes it durable failed.
var ErrNotDurable = errors.New("new manifest in place, not known to be durable")
