// Command watch creates a CellHub project, uploads a few tiny PNG images and then watches the
// project, printing every event. The watch resumes after a dropped connection or a server
// restart from the last event it printed (cellhub.Watch), so nothing is printed twice or missed.
//
//	watch --server 127.0.0.1:50051 --token-file alice.token [--upload-every 2s]
//
// The token is the one `cellhubd users add NAME` printed; it may also come from $CELLHUB_TOKEN.
// Stop with Ctrl-C.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"cellhub.dev/client/cellhub"
	"cellhub.dev/client/cellhubv1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

func main() {
	server := flag.String("server", "127.0.0.1:50051", "cellhubd address (host:port)")
	tokenFile := flag.String("token-file", "", "file holding the API token (default: $CELLHUB_TOKEN)")
	images := flag.Int("images", 3, "images to upload before watching (1..100)")
	every := flag.Duration("upload-every", 0, "also upload one image this often while watching (0: never)")
	flag.Parse()
	log.SetFlags(log.Ltime | log.Lmicroseconds)

	token, err := readToken(*tokenFile)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *server, token, *images, *every); err != nil && !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
}

func readToken(file string) (string, error) {
	if file == "" {
		if token := strings.TrimSpace(os.Getenv("CELLHUB_TOKEN")); token != "" {
			return token, nil
		}
		return "", errors.New("no token: pass --token-file or set CELLHUB_TOKEN")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	if token := strings.TrimSpace(string(b)); token != "" {
		return token, nil
	}
	return "", fmt.Errorf("%s is empty", file)
}

func run(ctx context.Context, server, token string, count int, every time.Duration) error {
	// Plaintext, as a local cellhubd serves; the token rides along on every call (cellhub.WithToken).
	// A reconnect backoff capped at 5 s (grpc-go's default grows to 120 s) finds a restarted server soon.
	conn, err := grpc.Dial(server, grpc.WithInsecure(), cellhub.WithToken(token),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{
			BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second}}))
	if err != nil {
		return err
	}
	defer conn.Close()
	projects := cellhubv1.NewProjectServiceClient(conn)
	imageService := cellhubv1.NewImageServiceClient(conn)

	name := "go-watch-example " + time.Now().UTC().Format("2006-01-02T15:04:05.000")
	created, err := projects.CreateProject(ctx, &cellhubv1.CreateProjectRequest{Name: name})
	if err != nil {
		return fmt.Errorf("CreateProject: %w", err)
	}
	project := created.GetProject()
	log.Printf("created project %q (%s)", project.GetName(), project.GetId())
	if err := upload(ctx, imageService, project.GetId(), 0, count); err != nil {
		return err
	}
	if every > 0 {
		go func() {
			for i := count; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-time.After(every):
				}
				// Failures (e.g. the server restarting) are only logged: the watch shows what landed.
				if err := upload(ctx, imageService, project.GetId(), i, 1); err != nil && ctx.Err() == nil {
					log.Print(err)
				}
			}
		}()
	}

	w := cellhub.Watch{
		ProjectID: project.GetId(),
		OnRetry: func(err error, delay time.Duration) {
			log.Printf("stream ended (%v); resuming in %v", err, delay.Round(time.Millisecond))
		},
	}
	return w.Run(ctx, cellhubv1.NewStatsServiceClient(conn), printEvent)
}

func upload(ctx context.Context, images cellhubv1.ImageServiceClient, projectID string, first, n int) error {
	req := &cellhubv1.UploadImagesRequest{ProjectId: projectID}
	for i := first; i < first+n; i++ {
		req.Images = append(req.Images, &cellhubv1.ImageUpload{
			Name: fmt.Sprintf("cell-%03d.png", i), ContentType: "image/png", Content: tinyPNG(i)})
	}
	resp, err := images.UploadImages(ctx, req)
	if err != nil {
		return fmt.Errorf("UploadImages: %w", err)
	}
	log.Printf("uploaded %d image(s)", len(resp.GetImages()))
	return nil
}

// tinyPNG is a valid 4x4 PNG whose pixels depend on seed (distinct uploads, distinct content).
func tinyPNG(seed int) []byte {
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range img.Pix {
		img.Pix[i] = uint8(seed*31 + i*16)
	}
	img.Set(seed%4, 0, color.White)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err) // encoding an in-memory image cannot fail
	}
	return b.Bytes()
}

func printEvent(ev *cellhubv1.ProjectEvent) error {
	what := ""
	switch p := ev.GetPayload().(type) {
	case *cellhubv1.ProjectEvent_Snapshot:
		s := p.Snapshot.GetProject().GetStats()
		what = fmt.Sprintf("%d images, %d bytes, resync %v", s.GetImageCount(), s.GetTotalBytes(), p.Snapshot.GetResync())
	case *cellhubv1.ProjectEvent_CaughtUp:
		what = fmt.Sprintf("replayed %d, position lost %v", p.CaughtUp.GetReplayedCount(), p.CaughtUp.GetPositionLost())
	case *cellhubv1.ProjectEvent_StatsUpdate:
		s := p.StatsUpdate.GetStats()
		what = fmt.Sprintf("%d images, %d bytes (%d changes folded)", s.GetImageCount(), s.GetTotalBytes(),
			p.StatsUpdate.GetChangeCount())
	case *cellhubv1.ProjectEvent_ImageCountChange:
		what = fmt.Sprintf("%d -> %d", p.ImageCountChange.GetPreviousImageCount(), p.ImageCountChange.GetNewImageCount())
	}
	log.Printf("%-28s epoch %.8s rev %d seq %d  %s", strings.TrimPrefix(ev.GetKind().String(), "EVENT_KIND_"),
		ev.GetEpoch(), ev.GetRevision(), ev.GetSequence(), what)
	return nil
}
