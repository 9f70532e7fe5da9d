// Package dockerd runs a Docker daemon of kiln's own over a root file
// system's image store, so that images can be loaded into an image that is
// not booted. The daemon shares nothing with any Docker on the host: its
// own data root, exec root, socket and pid file, and no network set-up.
package dockerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kiln-images/kiln/internal/tail"
)

// Options say where the daemon keeps its state.
type Options struct {
	DataRoot string    // the store, e.g. ROOTFS/var/lib/docker
	Socket   string    // the API socket, e.g. ROOTFS/run/docker.sock
	Log      io.Writer // the daemon's output; nil discards it
	// StartTimeout bounds the wait for the API; default 60 s.
	StartTimeout time.Duration
}

// Daemon is a running dockerd.
type Daemon struct {
	cmd    *exec.Cmd
	exited chan struct{}
	state  string
	Socket string
}

// Start runs dockerd and waits until its API answers.
func Start(ctx context.Context, o Options) (*Daemon, error) {
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		return nil, errors.New("dockerd is not installed " +
			"(apt-get install docker.io)")
	}
	// The exec root, pid file and config live in a short path of their
	// own: containerd's sockets go in the exec root, and a socket path
	// may not exceed 104 bytes.
	state, err := os.MkdirTemp("", "kiln-dockerd-")
	if err != nil {
		return nil, fmt.Errorf("creating dockerd state folder: %w", err)
	}
	// An empty config keeps the host's /etc/docker/daemon.json out.
	conf := filepath.Join(state, "daemon.json")
	if err := os.WriteFile(conf, []byte("{}\n"), 0o600); err != nil {
		os.RemoveAll(state)
		return nil, fmt.Errorf("writing dockerd config: %w", err)
	}
	for _, d := range []string{o.DataRoot, filepath.Dir(o.Socket)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			os.RemoveAll(state)
			return nil, fmt.Errorf("creating %s: %w", d, err)
		}
	}
	cmd := exec.Command(bin,
		"--config-file="+conf,
		"--data-root="+o.DataRoot,
		"--exec-root="+filepath.Join(state, "exec"),
		"--pidfile="+filepath.Join(state, "dockerd.pid"),
		"--host=unix://"+o.Socket,
		"--iptables=false", "--ip-masq=false", "--bridge=none",
	)
	// What the daemon printed last is kept to explain a failed start.
	last := &tail.Writer{}
	out := io.Writer(last)
	if o.Log != nil {
		out = io.MultiWriter(o.Log, last)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that a stop reaches containerd too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(state)
		return nil, fmt.Errorf("starting dockerd: %w", err)
	}
	d := &Daemon{cmd: cmd, exited: make(chan struct{}), Socket: o.Socket,
		state: state}
	go func() { cmd.Wait(); close(d.exited) }()

	timeout := o.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	if err := d.waitReady(ctx, timeout); err != nil {
		return nil, errors.Join(fmt.Errorf("%w\n%s", err, last), d.Stop())
	}
	return d, nil
}

func (d *Daemon) waitReady(ctx context.Context, timeout time.Duration) error {
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.Socket)
		},
	}, Timeout: 2 * time.Second}
	deadline := time.After(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get("http://docker/_ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for dockerd: %w", ctx.Err())
		case <-d.exited:
			return fmt.Errorf("dockerd exited during start-up: %v",
				d.cmd.ProcessState)
		case <-deadline:
			return fmt.Errorf("dockerd did not answer on %s within %s",
				d.Socket, timeout)
		case <-tick.C:
		}
	}
}

// Stop asks the daemon to stop, and kills its process group if it has not
// within 30 s. It returns once the daemon has exited.
func (d *Daemon) Stop() error {
	defer os.RemoveAll(d.state)
	pgid := d.cmd.Process.Pid
	var err error
	select {
	case <-d.exited:
	default:
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(30 * time.Second):
			err = errors.New("dockerd did not stop within 30s; killed")
		}
	}
	// containerd, started by dockerd, normally exits with it; a dockerd
	// that died or hung may leave it, so the group goes too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-d.exited
	return err
}
