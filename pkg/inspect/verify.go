package inspect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/sstable"
	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// FileReport is what Verify found in one file.
type FileReport struct {
	File string `json:"file"`
	// Kind is "manifest", "log", "table" or "leftover".
	Kind  string `json:"kind"`
	Bytes int64  `json:"bytes"`
	// Records counts log records or table entries.
	Records int `json:"records"`
	// Status is "ok", "torn tail", "leftover" or "damaged".
	Status string `json:"status"`
}

// Report is the result of Verify.
type Report struct {
	Dir   string       `json:"dir"`
	Files []FileReport `json:"files"`
	// Problems are defects: damage a crash cannot explain.
	Problems []kv.Problem `json:"problems"`
	// Notes are what a crash normally leaves (a torn log tail, files of an
	// interrupted flush) and are not defects.
	Notes []string `json:"notes"`
	// Warnings are about permissions and ownership.
	Warnings []string `json:"warnings"`
	// Digest is the content digest, when the store could be read.
	Digest string `json:"digest,omitempty"`
	Keys   int    `json:"keys"`
}

// OK reports whether Verify found no problem.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Verify checks every byte of every file of the store in dir under a shared
// lock, modifying nothing: the manifest, the log (every record's checksum
// and sequence), every table (see sstable.Verify), that the manifest's
// files exist with the sizes it records, and the permissions of the
// directory and its files. A store that does not exist verifies clean. A
// store holding a file written by a newer kv is not verified: the error
// wraps ErrUnsupportedVersion.
func Verify(dir string, opts *kv.Options) (*Report, error) {
	o := withDefaults(opts)
	o.ReadOnly = true
	dir = vfs.ResolveDir(o.FS, dir)
	rep := &Report{Dir: dir, Files: []FileReport{}, Problems: []kv.Problem{}, Notes: []string{}, Warnings: []string{}}
	fsys := o.FS
	if _, err := fsys.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		rep.Notes = append(rep.Notes, "no store at "+dir)
		return rep, nil
	}
	lock, err := fsys.LockDir(dir, false, o.LockTimeout)
	if errors.Is(err, vfs.ErrLockTimeout) {
		return nil, fmt.Errorf("%s: %w (after %s)", dir, kv.ErrLocked, o.LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	defer lock.Close()
	if err := kv.CheckVersions(fsys, dir); err != nil {
		return nil, err
	}
	v := &verifier{fs: fsys, dir: dir, rep: rep}
	v.checkPermissions()
	man, manErr := manifest.Read(fsys, dir)
	err = manErr
	noManifest := errors.Is(err, fs.ErrNotExist)
	live := map[string]bool{}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		rep.Notes = append(rep.Notes, "no MANIFEST: the directory holds no store yet")
	case err != nil:
		var ce *manifest.CorruptError
		off := int64(-1)
		reason := err.Error()
		if errors.As(err, &ce) {
			off, reason = ce.Offset, ce.Reason
		}
		v.problem(manifest.FileName, off, reason)
		rep.Files = append(rep.Files, FileReport{File: manifest.FileName, Kind: "manifest", Status: "damaged"})
	default:
		st, _ := fsys.Stat(filepath.Join(dir, manifest.FileName))
		rep.Files = append(rep.Files, FileReport{File: manifest.FileName, Kind: "manifest", Bytes: st.Size, Records: len(man.Tables) + 1, Status: "ok"})
		live[manifest.WALName(man.WAL)] = true
		v.checkLog(manifest.WALName(man.WAL))
		for _, t := range man.Tables {
			live[manifest.TableName(t.Num)] = true
			v.checkTable(manifest.TableName(t.Num), t.Size)
		}
	}
	names, err := fsys.List(dir)
	if err != nil {
		return nil, err
	}
	manifestDamaged := manErr != nil && !noManifest
	for _, n := range names {
		if _, ext, ok := manifest.ParseName(n); ok && manifestDamaged {
			// Without a readable manifest nothing can be called a
			// leftover: these files are what kv repair rebuilds from.
			st, _ := fsys.Stat(filepath.Join(dir, n))
			kind := map[string]string{"wal": "log", "sst": "table"}[ext]
			rep.Files = append(rep.Files, FileReport{File: n, Kind: kind, Bytes: st.Size, Status: "unverified"})
			continue
		}
		if _, ext, ok := manifest.ParseName(n); (ok && !live[n]) || manifest.IsTemp(n) {
			st, _ := fsys.Stat(filepath.Join(dir, n))
			if ok && noManifest && (ext == "sst" || st.Size > wal.HeaderSize) {
				// No manifest, yet a file holding data: the manifest was
				// lost (a writer refuses to open; kv repair rebuilds it).
				v.problem(manifest.FileName, -1, fmt.Sprintf("missing, but store files such as %s are present", n))
				noManifest = false // one problem is enough
			}
			rep.Files = append(rep.Files, FileReport{File: n, Kind: "leftover", Bytes: st.Size, Status: "leftover"})
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s is not named by the manifest: a leftover of an interrupted flush or compaction, removed by the next write", n))
		}
	}
	if rep.OK() && man != nil {
		o.LockTimeout = -1 // the shared lock is already ours
		db, err := kv.Open(dir, &o)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		if rep.Digest, err = db.Digest(); err != nil {
			return nil, err
		}
		err = db.Scan(nil, func(kv.Entry) error { rep.Keys++; return nil })
		if err != nil {
			return nil, err
		}
	}
	return rep, nil
}

type verifier struct {
	fs  vfs.FS
	dir string
	rep *Report
}

func (v *verifier) problem(file string, off int64, reason string) {
	v.rep.Problems = append(v.rep.Problems, kv.Problem{File: filepath.Join(v.dir, file), Offset: off, Reason: reason})
}

func (v *verifier) checkLog(name string) {
	fr := FileReport{File: name, Kind: "log", Status: "ok"}
	defer func() { v.rep.Files = append(v.rep.Files, fr) }()
	path := filepath.Join(v.dir, name)
	lb, err := wal.ReadFile(v.fs, path, 0)
	if err != nil {
		fr.Status = "damaged"
		v.problem(name, -1, missingReason(path, err))
		return
	}
	defer lb.Release()
	fr.Bytes = lb.Size
	if lb.End > wal.MaxLogBytes {
		fr.Status = "damaged"
		v.problem(name, wal.MaxLogBytes, wal.TooLargeReason(lb.End))
		return
	}
	res, err := wal.Scan(lb.Data, nil)
	if err == nil {
		res.Torn = wal.TornTail(res, lb.Size)
	}
	fr.Records = res.Records
	var ce *wal.CorruptError
	switch {
	case errors.As(err, &ce):
		fr.Status = "damaged"
		v.problem(name, ce.Offset, ce.Reason)
	case err != nil:
		fr.Status = "damaged"
		v.problem(name, -1, err.Error())
	case res.Torn != nil:
		fr.Status = "torn tail"
		v.rep.Notes = append(v.rep.Notes, fmt.Sprintf("%s has a torn tail at offset %d (%s, %d bytes): no whole record follows. A write that a crash interrupted leaves this, and was never acknowledged; damage to the end of the log (zeroed or lost pages) leaves it too, and would have lost acknowledged writes: kv cannot tell which. If the machine did not crash, suspect damage. The next write cuts the tail off; copy the file first to keep it",
			name, res.Torn.Offset, res.Torn.Reason, lb.Size-res.Torn.Offset))
	}
}

func (v *verifier) checkTable(name string, size int64) {
	fr := FileReport{File: name, Kind: "table", Status: "ok"}
	defer func() { v.rep.Files = append(v.rep.Files, fr) }()
	data, release, err := v.fs.Map(filepath.Join(v.dir, name))
	if err != nil {
		fr.Status = "damaged"
		v.problem(name, -1, missingReason(filepath.Join(v.dir, name), err))
		return
	}
	defer release()
	fr.Bytes = int64(len(data))
	if fr.Bytes != size {
		fr.Status = "damaged"
		v.problem(name, -1, fmt.Sprintf("size %d, manifest says %d", fr.Bytes, size))
	}
	var drop func([]byte)
	if pd, ok := v.fs.(vfs.PageDropper); ok {
		drop = pd.DropPages
	}
	probs := sstable.VerifyMapped(data, drop)
	for _, p := range probs {
		fr.Status = "damaged"
		v.problem(name, p.Offset, p.Reason)
	}
	if r, err := sstable.Open(data); err == nil {
		fr.Records = int(r.Entries())
	}
}

func missingReason(path string, err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "named by the manifest but missing"
	}
	// The problem names the file already.
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path && err.Error() == pe.Error() {
		return pe.Err.Error()
	}
	return err.Error()
}

// checkPermissions warns about a store other users can read or write, or
// that belongs to someone else.
func (v *verifier) checkPermissions() {
	uid := os.Getuid()
	check := func(path string, st vfs.FileInfo) {
		if st.Mode&0o077 != 0 {
			v.rep.Warnings = append(v.rep.Warnings, fmt.Sprintf("%s has mode %04o: readable or writable by group or others (want %04o)", path, st.Mode, map[bool]uint32{true: 0o700, false: 0o600}[st.IsDir]))
		}
		if st.UID >= 0 && uid >= 0 && st.UID != uid {
			v.rep.Warnings = append(v.rep.Warnings, fmt.Sprintf("%s is owned by uid %d, not by you (uid %d)", path, st.UID, uid))
		}
	}
	if st, err := v.fs.Stat(v.dir); err == nil {
		check(v.dir, st)
	}
	names, err := v.fs.List(v.dir)
	if err != nil {
		return
	}
	for _, n := range names {
		if !isStoreFile(n) {
			continue
		}
		p := filepath.Join(v.dir, n)
		if st, err := v.fs.Stat(p); err == nil && !st.IsDir {
			check(p, st)
		}
	}
}

// lockFileName is the lock file that kv created before it locked the
// directory itself, and that Windows still locks (vfs.FS.LockDir): a store
// may hold one, and it is the engine's.
const lockFileName = "LOCK"

// isStoreFile reports whether name is one the engine manages.
func isStoreFile(name string) bool {
	_, _, ok := manifest.ParseName(name)
	return ok || name == manifest.FileName || manifest.IsTemp(name) || name == lockFileName || strings.HasPrefix(name, "damaged-")
}
