package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one supervised starling process ("serve" or "work"). Like systemd with
// Restart=always, the supervisor starts it again whenever it exits, after restartDelay.
// An exit the soak did not cause (by SIGKILL) is counted as unexpected.
type proc struct {
	name, role string
	env        []string
	command    func(args ...string) *exec.Cmd
	logPath    string

	mu         sync.Mutex
	cmd        *exec.Cmd
	base       string // http://host:port while running, "" otherwise
	killed     bool   // the soak killed the running instance
	exited     chan struct{}
	starts     int
	unexpected []string // how unexpected exits ended
	panics     int
	panicLines []string // the first few log lines that showed a panic or a data race
	stopping   bool
}

const restartDelay = time.Second

// start launches the process and waits until it listens.
func (p *proc) start() error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := p.command(p.role)
	cmd.Env = append(cmd.Env, p.env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return err
	}
	cmd.Stdout = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	listening := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		defer logf.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		follow := 0 // lines of the last panic or race still to keep for the report
		for sc.Scan() {
			line := sc.Bytes()
			logf.Write(append(line, '\n'))
			if follow > 0 {
				follow--
				p.mu.Lock()
				p.panicLines = append(p.panicLines, p.name+": "+sc.Text())
				p.mu.Unlock()
			}
			if strings.Contains(sc.Text(), "panic") || strings.Contains(sc.Text(), "DATA RACE") {
				p.mu.Lock()
				p.panics++
				if p.panics == 1 {
					p.panicLines = append(p.panicLines, p.name+": "+sc.Text())
					follow = 30
				}
				p.mu.Unlock()
			}
			var l struct {
				Msg     string `json:"msg"`
				Listen  string `json:"listen"`
				Serving string `json:"serving"`
			}
			if json.Unmarshal(line, &l) == nil && l.Msg == "starling started" && l.Serving != "metrics" {
				select {
				case listening <- l.Listen:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
	}()
	select {
	case addr := <-listening:
		p.mu.Lock()
		p.cmd, p.base, p.killed, p.exited = cmd, "http://"+addr, false, exited
		p.starts++
		p.mu.Unlock()
		return nil
	case <-exited:
		return fmt.Errorf("%s exited before it listened (see %s)", p.name, p.logPath)
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not listen within 90 s (see %s)", p.name, p.logPath)
	}
}

// supervise restarts the process whenever it exits, until ctx ends.
func (p *proc) supervise(ctx context.Context, progress func(string, ...any)) {
	for {
		p.mu.Lock()
		exited := p.exited
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-exited:
		}
		p.mu.Lock()
		if p.stopping {
			p.mu.Unlock()
			return
		}
		if !p.killed {
			state := "exited"
			if p.cmd.ProcessState != nil {
				state = p.cmd.ProcessState.String()
			}
			p.unexpected = append(p.unexpected, state)
			progress("%s exited on its own (%s); restarting it", p.name, state)
		}
		p.base = ""
		p.mu.Unlock()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(restartDelay):
			}
			err := p.start()
			if err == nil {
				break
			}
			progress("restarting %s failed: %v", p.name, err)
		}
	}
}

// kill sends SIGKILL to the running instance and waits for it to die.
func (p *proc) kill() bool {
	p.mu.Lock()
	if p.base == "" || p.cmd == nil {
		p.mu.Unlock()
		return false
	}
	p.killed = true
	cmd, exited := p.cmd, p.exited
	p.base = ""
	p.mu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	return true
}

// stop ends the process with SIGTERM (SIGKILL after 30 s) and stops supervising it.
// It reports how the process exited.
func (p *proc) stop() string {
	p.mu.Lock()
	p.stopping = true
	p.killed = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return "never started"
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		return "killed after 30 s"
	}
	return cmd.ProcessState.String()
}

// url returns the base URL while the process runs.
func (p *proc) url() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.base
}

func logPath(dir, name string) string { return filepath.Join(dir, "logs", name+".log") }
