package cellhub

// End-to-end tests of Watch against a real cellhubd (CELLHUB_CELLHUBD, default
// <repo>/.build/release/cellhubd): a watcher that lives through a server restart must see every
// change exactly once, and a watch that can never succeed must end at once.

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cellhub.dev/client/cellhubv1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func TestWatchResumesAcrossRestart(t *testing.T) {
	bin := cellhubd(t)
	dir := t.TempDir()
	token := addUser(t, bin, dir, "alice")
	srv := startServer(t, bin, dir, 0)
	conn := dial(t, srv.addr(), token)
	projects := cellhubv1.NewProjectServiceClient(conn)
	images := cellhubv1.NewImageServiceClient(conn)
	stats := cellhubv1.NewStatsServiceClient(conn)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	created, err := projects.CreateProject(ctx, &cellhubv1.CreateProjectRequest{Name: "go-watch-resume"})
	if err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	projectID := created.GetProject().GetId()
	uploaded := []int{2} // images per UploadImages call, in order
	upload(ctx, t, images, projectID, "before-watch", 2)

	rec := &recorder{}
	var retries []error
	var retriesMu sync.Mutex
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	done := make(chan error, 1)
	w := Watch{
		ProjectID: projectID, MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		OnRetry: func(err error, _ time.Duration) {
			retriesMu.Lock()
			retries = append(retries, err)
			retriesMu.Unlock()
		},
	}
	go func() { done <- w.Run(watchCtx, stats, rec.handle) }()

	rec.waitFor(t, done, "CAUGHT_UP", func(evs []*cellhubv1.ProjectEvent) bool { return count(evs, caughtUp) == 1 })
	uploaded = append(uploaded, 3)
	upload(ctx, t, images, projectID, "live", 3)
	rec.waitFor(t, done, "the live upload", func(evs []*cellhubv1.ProjectEvent) bool { return lastCount(evs) == 5 })
	// Committed just before the SIGTERM: its events may or may not get out before the drain; the
	// resumed stream must deliver them exactly once either way.
	uploaded = append(uploaded, 1)
	upload(ctx, t, images, projectID, "just-before-restart", 1)

	if err := srv.stop(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, srv.log())
	}
	srv = startServer(t, bin, dir, srv.port)
	for i, n := range []int{2, 4} {
		uploaded = append(uploaded, n)
		upload(ctx, t, images, projectID, fmt.Sprintf("after-restart-%d", i), n)
	}
	total := 0
	for _, n := range uploaded {
		total += n
	}
	want, err := stats.GetProjectStats(ctx, &cellhubv1.GetProjectStatsRequest{ProjectId: projectID})
	if err != nil {
		t.Fatalf("GetProjectStats: %v", err)
	}
	if got := want.GetStats().GetImageCount(); got != int64(total) {
		t.Fatalf("GetProjectStats image_count = %d after uploading %d images", got, total)
	}
	// Stats updates are coalesced (100 ms by default); the last one of a burst is exact.
	rec.waitFor(t, done, "stats equal to GetProjectStats", func(evs []*cellhubv1.ProjectEvent) bool {
		last := lastStats(evs)
		return last != nil && proto.Equal(last, want.GetStats())
	})
	stopWatch()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel = %v, want context.Canceled", err)
	}

	evs := rec.events()
	t.Logf("%d events over %d connections, %d retries", len(evs), count(evs, caughtUp), len(retries))
	if len(retries) == 0 || count(evs, caughtUp) < 2 {
		t.Errorf("the restart did not make the watcher reconnect and resume (%d retries, %d CAUGHT_UP):\n%s",
			len(retries), count(evs, caughtUp), trace(evs))
	}
	for _, err := range retries {
		if c := status.Code(err); c != codes.Unavailable {
			t.Errorf("retried after %v, want only UNAVAILABLE during a restart", err)
		}
	}
	checkStream(t, evs, want.GetEpoch())

	// Every upload is one PROJECT_IMAGE_COUNT_CHANGE, in order, none missing or repeated.
	var deltas []int
	n := evs[0].GetSnapshot().GetProject().GetStats().GetImageCount()
	for _, ev := range evs {
		if c := ev.GetImageCountChange(); c != nil {
			if c.GetPreviousImageCount() != n {
				t.Errorf("%s: previous_image_count %d, want %d (an event was missed or repeated)",
					label(ev), c.GetPreviousImageCount(), n)
			}
			deltas = append(deltas, int(c.GetNewImageCount()-c.GetPreviousImageCount()))
			n = c.GetNewImageCount()
		}
	}
	if fmt.Sprint(deltas) != fmt.Sprint(uploaded[1:]) || n != int64(total) {
		t.Errorf("image count changes %v ending at %d, want %v ending at %d:\n%s",
			deltas, n, uploaded[1:], total, trace(evs))
	}
	if last := lastStats(evs); !proto.Equal(last, want.GetStats()) {
		t.Errorf("last stats seen %v, GetProjectStats %v", last, want.GetStats())
	}

	// The server's own replay from the snapshot's position (one uninterrupted call) must hold
	// exactly the discrete events the resuming watcher saw over its connections.
	replay := replayFrom(ctx, t, stats, projectID, evs[0])
	if got, want := discrete(evs[1:]), discrete(replay); !sameEvents(got, want) {
		t.Errorf("discrete events across the restart differ from the server's replay:\nwatcher:\n%s\nreplay:\n%s",
			trace(got), trace(want))
	}
}

func TestWatchEndsOnFinalErrors(t *testing.T) {
	bin := cellhubd(t)
	dir := t.TempDir()
	token := addUser(t, bin, dir, "alice")
	srv := startServer(t, bin, dir, 0)

	for _, tc := range []struct {
		name, token string
		want        codes.Code
	}{
		{"unknown project", token, codes.NotFound},
		{"bad token", "not-a-token", codes.Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stats := cellhubv1.NewStatsServiceClient(dial(t, srv.addr(), tc.token))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			retries, events := 0, 0
			w := Watch{ProjectID: randomUUID(t), OnRetry: func(error, time.Duration) { retries++ }}
			started := time.Now()
			err := w.Run(ctx, stats, func(*cellhubv1.ProjectEvent) error { events++; return nil })
			if status.Code(err) != tc.want || retries != 0 || events != 0 {
				t.Fatalf("Run = %v after %d retries and %d events, want %v at once", err, retries, events, tc.want)
			}
			if took := time.Since(started); took > 5*time.Second {
				t.Errorf("Run took %v to give up", took)
			}
		})
	}
}

func TestWatchReturnsHandlerError(t *testing.T) {
	bin := cellhubd(t)
	dir := t.TempDir()
	token := addUser(t, bin, dir, "alice")
	srv := startServer(t, bin, dir, 0)
	conn := dial(t, srv.addr(), token)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	created, err := cellhubv1.NewProjectServiceClient(conn).CreateProject(ctx,
		&cellhubv1.CreateProjectRequest{Name: "go-watch-handler"})
	if err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	stop := errors.New("stop")
	events := 0
	err = WatchProject(ctx, cellhubv1.NewStatsServiceClient(conn), created.GetProject().GetId(),
		func(*cellhubv1.ProjectEvent) error { events++; return stop })
	if err != stop || events != 1 {
		t.Fatalf("WatchProject = %v after %d events, want the handler's error after 1", err, events)
	}
}

// ---------------------------------------------------------------------------------------------
// stream checks

const caughtUp = cellhubv1.EventKind_EVENT_KIND_CAUGHT_UP

// checkStream checks the positions along a resumed stream: one epoch, one SNAPSHOT (first, not a
// resync), no lost position, positions never going back and no discrete event twice.
func checkStream(t *testing.T, evs []*cellhubv1.ProjectEvent, epoch string) {
	t.Helper()
	if len(evs) == 0 || evs[0].GetSnapshot() == nil {
		t.Fatalf("the stream does not start with a SNAPSHOT:\n%s", trace(evs))
	}
	seen := map[[2]uint64]bool{}
	for i, ev := range evs {
		switch {
		case ev.GetEpoch() != epoch:
			t.Errorf("%s: epoch %q, want %q", label(ev), ev.GetEpoch(), epoch)
		case i > 0 && ev.GetSnapshot() != nil:
			t.Errorf("%s: a second snapshot (resync %v): the resume was not honoured", label(ev), ev.GetSnapshot().GetResync())
		case ev.GetCaughtUp().GetPositionLost():
			t.Errorf("%s: position_lost", label(ev))
		case i > 0 && less(key(ev), key(evs[i-1])):
			t.Errorf("%s after %s: the position went back", label(ev), label(evs[i-1]))
		}
		// Sequence 0 (state, stream control) names a whole revision and legitimately repeats (the
		// stats refresh and CAUGHT_UP after a resume); numbered events must never repeat.
		if ev.GetSequence() > 0 {
			k := [2]uint64{ev.GetRevision(), uint64(ev.GetSequence())}
			if seen[k] {
				t.Errorf("%s: delivered twice", label(ev))
			}
			seen[k] = true
		}
	}
	if t.Failed() {
		t.Logf("events:\n%s", trace(evs))
	}
}

// key orders positions along a stream: sequence 0 (the whole revision) after every numbered event.
func key(ev *cellhubv1.ProjectEvent) [2]uint64 {
	seq := uint64(ev.GetSequence())
	if seq == 0 {
		seq = 1 << 32
	}
	return [2]uint64{ev.GetRevision(), seq}
}

func less(a, b [2]uint64) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }

// replayFrom asks the server for every event after ev's position in one call (until CAUGHT_UP).
func replayFrom(ctx context.Context, t *testing.T, stats cellhubv1.StatsServiceClient, projectID string,
	ev *cellhubv1.ProjectEvent) []*cellhubv1.ProjectEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	stream, err := stats.WatchProject(ctx, &cellhubv1.WatchProjectRequest{ProjectId: projectID,
		ResumeFrom: &cellhubv1.StreamPosition{Epoch: ev.GetEpoch(), Revision: ev.GetRevision(), Sequence: ev.GetSequence()}})
	if err != nil {
		t.Fatalf("WatchProject (replay): %v", err)
	}
	var evs []*cellhubv1.ProjectEvent
	for {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatalf("replay ended with %v before CAUGHT_UP:\n%s", err, trace(evs))
		}
		evs = append(evs, ev)
		if ev.GetKind() == caughtUp {
			if ev.GetCaughtUp().GetPositionLost() {
				t.Fatalf("replay from %s: position lost", label(ev))
			}
			return evs
		}
	}
}

func discrete(evs []*cellhubv1.ProjectEvent) []*cellhubv1.ProjectEvent {
	var out []*cellhubv1.ProjectEvent
	for _, ev := range evs {
		if ev.GetSequence() > 0 {
			out = append(out, ev)
		}
	}
	return out
}

func sameEvents(a, b []*cellhubv1.ProjectEvent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func count(evs []*cellhubv1.ProjectEvent, kind cellhubv1.EventKind) int {
	n := 0
	for _, ev := range evs {
		if ev.GetKind() == kind {
			n++
		}
	}
	return n
}

// lastCount is the image count after the last PROJECT_IMAGE_COUNT_CHANGE, or -1.
func lastCount(evs []*cellhubv1.ProjectEvent) int64 {
	for i := len(evs) - 1; i >= 0; i-- {
		if c := evs[i].GetImageCountChange(); c != nil {
			return c.GetNewImageCount()
		}
	}
	return -1
}

// lastStats is the ProjectStats of the last SNAPSHOT or PROJECT_STATS_UPDATE, or nil.
func lastStats(evs []*cellhubv1.ProjectEvent) *cellhubv1.ProjectStats {
	for i := len(evs) - 1; i >= 0; i-- {
		if s := evs[i].GetStatsUpdate().GetStats(); s != nil {
			return s
		}
		if s := evs[i].GetSnapshot().GetProject().GetStats(); s != nil {
			return s
		}
	}
	return nil
}

func label(ev *cellhubv1.ProjectEvent) string {
	s := fmt.Sprintf("%s@%d", strings.TrimPrefix(ev.GetKind().String(), "EVENT_KIND_"), ev.GetRevision())
	if ev.GetSequence() > 0 {
		s += fmt.Sprintf(".%d", ev.GetSequence())
	}
	return s
}

func trace(evs []*cellhubv1.ProjectEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "  %s", label(ev))
		if c := ev.GetImageCountChange(); c != nil {
			fmt.Fprintf(&b, " %d -> %d", c.GetPreviousImageCount(), c.GetNewImageCount())
		}
		if s := ev.GetStatsUpdate().GetStats(); s != nil {
			fmt.Fprintf(&b, " image_count %d", s.GetImageCount())
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// recorder collects the events a watcher handled.
type recorder struct {
	mu  sync.Mutex
	evs []*cellhubv1.ProjectEvent
}

func (r *recorder) handle(ev *cellhubv1.ProjectEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
	return nil
}

func (r *recorder) events() []*cellhubv1.ProjectEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*cellhubv1.ProjectEvent(nil), r.evs...)
}

// waitFor polls until cond holds on the events so far; it fails if the watcher ended or 20 s pass.
func (r *recorder) waitFor(t *testing.T, done <-chan error, what string, cond func([]*cellhubv1.ProjectEvent) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond(r.events()) {
		select {
		case err := <-done:
			t.Fatalf("waiting for %s: the watcher ended with %v:\n%s", what, err, trace(r.events()))
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not seen within 20 s:\n%s", what, trace(r.events()))
		}
	}
}

// ---------------------------------------------------------------------------------------------
// the server under test

// cellhubd is the server binary: $CELLHUB_CELLHUBD, else the release build of this repository.
func cellhubd(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("CELLHUB_CELLHUBD")
	if bin == "" {
		bin = "../../../.build/release/cellhubd" // from Clients/go/cellhub, where go test runs
	}
	abs, err := filepath.Abs(bin)
	if err == nil {
		_, err = os.Stat(abs)
	}
	if err != nil {
		t.Fatalf("cellhubd not found (%v): build it (swift build -c release) or set CELLHUB_CELLHUBD", err)
	}
	return abs
}

func addUser(t *testing.T, bin, dir, name string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "users", "add", name, "--data-dir", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	token := strings.TrimSpace(string(out))
	if err != nil || token == "" || strings.ContainsAny(token, " \n") {
		t.Fatalf("cellhubd users add %s: %v, stdout %q, stderr %q", name, err, out, stderr.String())
	}
	return token
}

type server struct {
	cmd    *exec.Cmd
	port   int
	stderr *syncBuffer
	exited chan struct{} // closed when the process has been waited for
	err    error         // its exit status, once exited is closed
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }
func (s *server) log() string  { return s.stderr.String() }

// startServer starts `cellhubd serve` on dir and port (0: any), retrying a few times when a
// fixed port is still held by the previous process. The server is killed when the test ends.
func startServer(t *testing.T, bin, dir string, port int) *server {
	t.Helper()
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		var s *server
		if s, err = launch(bin, dir, port); err == nil {
			t.Cleanup(s.kill)
			return s
		}
		if port == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("starting cellhubd: %v", err)
	return nil
}

func launch(bin, dir string, port int) (*server, error) {
	s := &server{stderr: &syncBuffer{}, exited: make(chan struct{})}
	stdout := &firstLine{line: make(chan string, 1)}
	s.cmd = exec.Command(bin, "serve", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--data-dir", dir,
		"--workers", "0", "--fast-commits")
	s.cmd.Stdout, s.cmd.Stderr = stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.err = s.cmd.Wait(); close(s.exited) }()
	select {
	case line := <-stdout.line:
		p, err := strconv.Atoi(strings.TrimPrefix(line, "listening on 127.0.0.1:"))
		if err != nil || p <= 0 || port != 0 && p != port {
			s.kill()
			return nil, fmt.Errorf("first stdout line %q, want 'listening on 127.0.0.1:PORT' (port %d)", line, port)
		}
		s.port = p
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("cellhubd exited (%v) before listening:\n%s", s.err, s.log())
	case <-time.After(30 * time.Second):
		s.kill()
		return nil, fmt.Errorf("cellhubd printed no port within 30 s:\n%s", s.log())
	}
}

// stop sends SIGTERM (graceful drain) and waits for the exit status.
func (s *server) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-s.exited:
		return s.err
	case <-time.After(30 * time.Second):
		s.kill()
		return errors.New("still running 30 s after SIGTERM")
	}
}

func (s *server) kill() {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// firstLine is a stdout that reports the first line written, then discards everything.
type firstLine struct {
	buf  []byte
	line chan string
	sent bool
}

func (w *firstLine) Write(p []byte) (int, error) {
	if !w.sent {
		w.buf = append(w.buf, p...)
		if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
			w.line <- strings.TrimSpace(string(w.buf[:i]))
			w.sent, w.buf = true, nil
		}
	}
	return len(p), nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// ---------------------------------------------------------------------------------------------
// client helpers

// dial connects with the token on every call and a short reconnect backoff, so the channel
// notices the restarted server quickly (grpc-go's default starts at 1 s and grows to 120 s).
func dial(t *testing.T, addr, token string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.Dial(addr, grpc.WithInsecure(), WithToken(token), grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
		MinConnectTimeout: 5 * time.Second,
	}))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// upload stores n distinct tiny PNGs in one UploadImages call. WaitForReady: right after a
// restart the channel may still be reconnecting.
func upload(ctx context.Context, t *testing.T, images cellhubv1.ImageServiceClient, projectID, tag string, n int) {
	t.Helper()
	req := &cellhubv1.UploadImagesRequest{ProjectId: projectID}
	for i := 0; i < n; i++ {
		req.Images = append(req.Images, &cellhubv1.ImageUpload{
			Name: fmt.Sprintf("%s-%d.png", tag, i), ContentType: "image/png", Content: tinyPNG(t, i)})
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	resp, err := images.UploadImages(ctx, req, grpc.WaitForReady(true))
	if err != nil || len(resp.GetImages()) != n {
		t.Fatalf("UploadImages %s (%d images): %d stored, %v", tag, n, len(resp.GetImages()), err)
	}
}

func tinyPNG(t *testing.T, seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(seed%2, seed/2%2, color.RGBA{R: uint8(seed * 40), G: 200, B: 100, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func randomUUID(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
