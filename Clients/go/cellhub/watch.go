package cellhub

import (
	"context"
	"errors"
	"io"
	"math/rand"
	"time"

	"cellhub.dev/client/cellhubv1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Watch describes a resuming WatchProject subscription. Zero fields take the defaults noted.
type Watch struct {
	// ProjectID is the project to watch.
	ProjectID string
	// ResumeFrom, when set, continues after that position instead of starting with a SNAPSHOT
	// (e.g. a position saved by an earlier run, or GetProjectStats' epoch and stats.revision).
	ResumeFrom *cellhubv1.StreamPosition
	// MinUpdateInterval, when set, is sent as min_update_interval_ms (server default: 100 ms).
	MinUpdateInterval *time.Duration
	// MinBackoff and MaxBackoff bound the reconnect delay (default 100 ms and 10 s). The delay
	// doubles after each failed attempt and is jittered, so many clients of a restarted server
	// do not reconnect in lockstep.
	MinBackoff, MaxBackoff time.Duration
	// OnRetry, when set, is called before each reconnect with the error that ended the previous
	// attempt and the delay about to be waited (for logging).
	OnRetry func(err error, delay time.Duration)
}

// WatchProject streams a project's events to handle until ctx ends, handle returns an error, or
// the server ends the stream for good. Dropped streams are resumed without gaps or repeats.
// See Watch.Run.
func WatchProject(ctx context.Context, client cellhubv1.StatsServiceClient, projectID string,
	handle func(*cellhubv1.ProjectEvent) error) error {
	return Watch{ProjectID: projectID}.Run(ctx, client, handle)
}

// Run calls handle with every event of the project, in order, over as many WatchProject calls as
// it takes. After handle returns nil for an event, that event's (epoch, revision, sequence) is the
// position the next call resumes from: the server then continues after exactly that event
// (events.proto). A snapshot with resync = true means the server could not honour the position
// and handle must discard state derived from earlier events.
//
// UNAVAILABLE (draining, restarting, connection refused), RESOURCE_EXHAUSTED (slow consumer) and
// a stream that ends without a status are retried with jittered exponential backoff. Any other
// status ends Run with that status error: NOT_FOUND (no such project, or it was deleted),
// PERMISSION_DENIED (access revoked), UNAUTHENTICATED (bad token) are final by definition, and
// retrying a malformed request cannot help. Run returns ctx.Err() once ctx is done, and handle's
// error unchanged.
func (w Watch) Run(ctx context.Context, client cellhubv1.StatsServiceClient,
	handle func(*cellhubv1.ProjectEvent) error) error {
	minDelay, maxDelay := w.MinBackoff, w.MaxBackoff
	if minDelay <= 0 {
		minDelay = 100 * time.Millisecond
	}
	if maxDelay <= 0 {
		maxDelay = 10 * time.Second
	}
	if maxDelay < minDelay {
		maxDelay = minDelay
	}
	req := &cellhubv1.WatchProjectRequest{ProjectId: w.ProjectID, ResumeFrom: w.ResumeFrom}
	if w.MinUpdateInterval != nil {
		req.MinUpdateInterval = &cellhubv1.WatchProjectRequest_MinUpdateIntervalMs{
			MinUpdateIntervalMs: uint32(*w.MinUpdateInterval / time.Millisecond)}
	}
	jitter := rand.New(rand.NewSource(time.Now().UnixNano())) // per process: no lockstep retries
	delay := minDelay
	for {
		received, err := w.stream(ctx, client, req, handle)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var he handlerError
		if errors.As(err, &he) {
			return he.err
		}
		if !retryable(err) {
			return err
		}
		if received {
			delay = minDelay // the server was up: start the backoff over
		}
		wait := delay/2 + time.Duration(jitter.Int63n(int64(delay/2)+1)) // "equal jitter"
		if w.OnRetry != nil {
			w.OnRetry(err, wait)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		if delay *= 2; delay > maxDelay {
			delay = maxDelay
		}
	}
}

// handlerError marks an error returned by the caller's handler, which Run returns as is.
type handlerError struct{ err error }

func (e handlerError) Error() string { return e.err.Error() }

// stream runs one WatchProject call, advancing req.ResumeFrom past every event handled. It
// reports whether any event arrived (the connection worked) and the error that ended the call.
func (w Watch) stream(ctx context.Context, client cellhubv1.StatsServiceClient, req *cellhubv1.WatchProjectRequest,
	handle func(*cellhubv1.ProjectEvent) error) (received bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the call when handle fails
	stream, err := client.WatchProject(ctx, req)
	if err != nil {
		return false, err
	}
	for {
		ev, err := stream.Recv()
		if err != nil {
			return received, err
		}
		received = true
		if err := handle(ev); err != nil {
			return received, handlerError{err}
		}
		// PRESENCE is ephemeral (it repeats the highest revision sent, commits nothing): it
		// never moves the position.
		if _, presence := ev.Payload.(*cellhubv1.ProjectEvent_Presence); !presence {
			req.ResumeFrom = &cellhubv1.StreamPosition{Epoch: ev.Epoch, Revision: ev.Revision, Sequence: ev.Sequence}
		}
	}
}

// retryable reports whether a WatchProject call that ended with err should be resumed.
func retryable(err error) bool {
	if err == io.EOF { // the server closed the stream without an error: resume
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted:
		return true
	}
	return false
}
