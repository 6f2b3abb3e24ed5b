package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// cpuUse is the CPU time the processes of one run have used so far: the
// server, this process (the load generator, or the in-process issuer),
// PostgreSQL and Redis. It reads /proc, so it is all zero off Linux.
type cpuUse struct{ server, self, db, redis time.Duration }

func (b cpuUse) minus(a cpuUse) cpuUse {
	return cpuUse{b.server - a.server, b.self - a.self, b.db - a.db, b.redis - a.redis}
}

func (b cpuUse) plus(a cpuUse) cpuUse {
	return cpuUse{b.server + a.server, b.self + a.self, b.db + a.db, b.redis + a.redis}
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go runs on.
const clockTick = 10 * time.Millisecond

// cpuNow samples the CPU time of server (0: none), this process and every
// process named postgres or redis-server.
func cpuNow(server int) cpuUse {
	u := cpuUse{self: procCPU("self")}
	if server != 0 {
		u.server = procCPU(strconv.Itoa(server))
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		comm, err := os.ReadFile(d + "/comm")
		if err != nil {
			continue
		}
		switch string(bytes.TrimSpace(comm)) {
		case "postgres":
			u.db += procCPU(filepath.Base(d))
		case "redis-server":
			u.redis += procCPU(filepath.Base(d))
		}
	}
	return u
}

// procCPU is utime+stime of /proc/<pid>/stat; 0 when it cannot be read.
func procCPU(pid string) time.Duration {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: fields count from its ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(raw[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(string(f[11]), 10, 64)
	st, _ := strconv.ParseInt(string(f[12]), 10, 64)
	return time.Duration(ut+st) * clockTick
}

// perIssue reports the CPU each process spent per issue between a and b.
func (b cpuUse) perIssue(a cpuUse, n int64) string {
	if n == 0 {
		return ""
	}
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	return fmt.Sprintf("CPU µs/issue: server %.0f, bench %.0f, postgres %.0f", us(b.server-a.server), us(b.self-a.self), us(b.db-a.db))
}
