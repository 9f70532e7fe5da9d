package hygiene

import "syscall"

func device(p string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return 0, err
	}
	return st.Dev, nil
}
