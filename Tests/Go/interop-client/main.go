// Command interop-client runs the standard gRPC interop cases (grpc/doc/interop-test-descriptions.md)
// against a grpc.testing.TestService, with Debian's grpc-go (1.33) as the client.
//
// Usage: interop-client -addr HOST:PORT [-tls -ca FILE -server-name NAME] [-cases a,b,c]
// Prints "PASS name" or "FAIL name: reason" for each case; exits 1 if any failed.
//
// grpc-go 1.33 compresses every message of a call or none, so client_compressed_streaming sends its
// second message (expect_compressed false) compressed too, where the description sends it plain.
// Whether a received message was compressed is read from a stats handler: grpc-go reports the
// message's length on the wire (compressed bytes + 5-byte prefix) next to its decoded length.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	pb "example.com/interoppb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/encoding/gzip" // registers "gzip" for sending and receiving
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

const (
	echoInitialKey  = "x-grpc-test-echo-initial"
	echoTrailingKey = "x-grpc-test-echo-trailing-bin"
	echoInitialVal  = "test_initial_metadata_value"
	callTimeout     = 30 * time.Second
)

var echoTrailingVal = "\x0a\x0b\x0a\x0b\x0a\x0b"

type testCase struct {
	name string
	run  func(ctx context.Context, c *client) error
}

var cases = []testCase{
	{"empty_unary", emptyUnary},
	{"large_unary", largeUnary},
	{"client_streaming", clientStreaming},
	{"server_streaming", serverStreaming},
	{"ping_pong", pingPong},
	{"empty_stream", emptyStream},
	{"custom_metadata", customMetadata},
	{"status_code_and_message", statusCodeAndMessage},
	{"special_status_message", specialStatusMessage},
	{"unimplemented_method", unimplementedMethod},
	{"unimplemented_service", unimplementedService},
	{"cancel_after_begin", cancelAfterBegin},
	{"cancel_after_first_response", cancelAfterFirstResponse},
	{"timeout_on_sleeping_server", timeoutOnSleepingServer},
	{"client_compressed_unary", clientCompressedUnary},
	{"client_compressed_streaming", clientCompressedStreaming},
	{"server_compressed_unary", serverCompressedUnary},
	{"server_compressed_streaming", serverCompressedStreaming},
}

type client struct {
	conn *grpc.ClientConn
	stub pb.TestServiceClient
}

func main() {
	addr := flag.String("addr", "127.0.0.1:50051", "server address HOST:PORT")
	useTLS := flag.Bool("tls", false, "connect over TLS")
	ca := flag.String("ca", "", "PEM file of the CA that signed the server certificate (with -tls)")
	serverName := flag.String("server-name", "", "name to verify the server certificate against (with -tls)")
	caseList := flag.String("cases", "", "comma-separated cases to run (default: all)")
	flag.Parse()

	selected, err := selectCases(*caseList)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// WithReturnConnectionError: a failed dial names its cause (e.g. the certificate) rather than only the deadline.
	opts := []grpc.DialOption{grpc.WithBlock(), grpc.WithReturnConnectionError(), grpc.WithStatsHandler(payloadRecorder{})}
	if *useTLS {
		creds, err := credentials.NewClientTLSFromFile(*ca, *serverName)
		if err != nil {
			fmt.Fprintf(os.Stderr, "reading -ca %q: %v\n", *ca, err)
			os.Exit(2)
		}
		opts = append(opts, grpc.WithTransportCredentials(creds))
	} else {
		opts = append(opts, grpc.WithInsecure())
	}
	dialCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	conn, err := grpc.DialContext(dialCtx, *addr, opts...)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "connecting to %s: %v\n", *addr, err)
		os.Exit(2)
	}
	defer conn.Close()
	c := &client{conn: conn, stub: pb.NewTestServiceClient(conn)}

	failed := 0
	for _, tc := range selected {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		err := tc.run(ctx, c)
		cancel()
		if err != nil {
			failed++
			fmt.Printf("FAIL %s: %s\n", tc.name, strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Printf("PASS %s\n", tc.name)
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}

func selectCases(list string) ([]testCase, error) {
	if list == "" || list == "all" {
		return cases, nil
	}
	var out []testCase
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, tc := range cases {
			if tc.name == name {
				out = append(out, tc)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown case %q", name)
		}
	}
	return out, nil
}

// -- helpers

func payload(n int) *pb.Payload {
	return &pb.Payload{Type: pb.PayloadType_COMPRESSABLE, Body: make([]byte, n)}
}

func checkPayload(p *pb.Payload, size int) error {
	if p == nil {
		return fmt.Errorf("response has no payload, want %d bytes", size)
	}
	if p.Type != pb.PayloadType_COMPRESSABLE {
		return fmt.Errorf("payload type %v, want COMPRESSABLE", p.Type)
	}
	if len(p.Body) != size {
		return fmt.Errorf("payload is %d bytes, want %d", len(p.Body), size)
	}
	if !bytes.Equal(p.Body, make([]byte, size)) {
		return fmt.Errorf("payload of %d bytes is not all zeros", size)
	}
	return nil
}

func expectCode(err error, code codes.Code, message string) error {
	if err == nil {
		return fmt.Errorf("call succeeded, want %v", code)
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("non-status error %v, want %v", err, code)
	}
	if st.Code() != code {
		return fmt.Errorf("status %v (%q), want %v", st.Code(), st.Message(), code)
	}
	if message != "" && st.Message() != message {
		return fmt.Errorf("status message %q, want %q", st.Message(), message)
	}
	return nil
}

func echoContext(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, echoInitialKey, echoInitialVal, echoTrailingKey, echoTrailingVal)
}

func checkEcho(header, trailer metadata.MD) error {
	if v := header.Get(echoInitialKey); len(v) != 1 || v[0] != echoInitialVal {
		return fmt.Errorf("initial metadata %s = %q, want [%q]", echoInitialKey, v, echoInitialVal)
	}
	if v := trailer.Get(echoTrailingKey); len(v) != 1 || v[0] != echoTrailingVal {
		return fmt.Errorf("trailing metadata %s = %q, want [%q]", echoTrailingKey, v, echoTrailingVal)
	}
	return nil
}

// expectEOF reads once more from a stream whose last response has arrived: it must end with OK.
func expectEOF(recv func() error) error {
	if err := recv(); err != io.EOF {
		return fmt.Errorf("after the last response: got %v, want end of stream with OK", err)
	}
	return nil
}

// -- received-message compression, seen through a stats handler

type recorderKey struct{}

// received collects, per call, whether each received message came compressed.
type received struct {
	mu         sync.Mutex
	compressed []bool
}

func (r *received) flags() []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bool(nil), r.compressed...)
}

func recording(ctx context.Context) (context.Context, *received) {
	r := &received{}
	return context.WithValue(ctx, recorderKey{}, r), r
}

type payloadRecorder struct{}

func (payloadRecorder) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (payloadRecorder) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (payloadRecorder) HandleConn(context.Context, stats.ConnStats) {}
func (payloadRecorder) HandleRPC(ctx context.Context, s stats.RPCStats) {
	in, ok := s.(*stats.InPayload)
	r, _ := ctx.Value(recorderKey{}).(*received)
	if !ok || r == nil {
		return
	}
	// WireLength is the bytes on the wire plus the 5-byte prefix; uncompressed it is Length + 5.
	r.mu.Lock()
	r.compressed = append(r.compressed, in.WireLength != in.Length+5)
	r.mu.Unlock()
}

// -- cases

func emptyUnary(ctx context.Context, c *client) error {
	reply, err := c.stub.EmptyCall(ctx, &pb.Empty{})
	if err != nil {
		return fmt.Errorf("EmptyCall: %v", err)
	}
	if reply == nil {
		return errors.New("EmptyCall returned nil")
	}
	return nil
}

func largeUnary(ctx context.Context, c *client) error {
	reply, err := c.stub.UnaryCall(ctx, &pb.SimpleRequest{ResponseType: pb.PayloadType_COMPRESSABLE, ResponseSize: 314159, Payload: payload(271828)})
	if err != nil {
		return fmt.Errorf("UnaryCall: %v", err)
	}
	return checkPayload(reply.Payload, 314159)
}

func clientStreaming(ctx context.Context, c *client) error {
	stream, err := c.stub.StreamingInputCall(ctx)
	if err != nil {
		return fmt.Errorf("StreamingInputCall: %v", err)
	}
	for _, n := range []int{27182, 8, 1828, 45904} {
		if err := stream.Send(&pb.StreamingInputCallRequest{Payload: payload(n)}); err != nil {
			return fmt.Errorf("sending %d bytes: %v", n, err)
		}
	}
	reply, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("CloseAndRecv: %v", err)
	}
	if reply.AggregatedPayloadSize != 74922 {
		return fmt.Errorf("aggregated_payload_size %d, want 74922", reply.AggregatedPayloadSize)
	}
	return nil
}

func serverStreaming(ctx context.Context, c *client) error {
	sizes := []int{31415, 9, 2653, 58979}
	req := &pb.StreamingOutputCallRequest{ResponseType: pb.PayloadType_COMPRESSABLE}
	for _, n := range sizes {
		req.ResponseParameters = append(req.ResponseParameters, &pb.ResponseParameters{Size: int32(n)})
	}
	stream, err := c.stub.StreamingOutputCall(ctx, req)
	if err != nil {
		return fmt.Errorf("StreamingOutputCall: %v", err)
	}
	for i, n := range sizes {
		reply, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("response %d: %v", i, err)
		}
		if err := checkPayload(reply.Payload, n); err != nil {
			return fmt.Errorf("response %d: %v", i, err)
		}
	}
	return expectEOF(func() error { _, err := stream.Recv(); return err })
}

func pingPong(ctx context.Context, c *client) error {
	stream, err := c.stub.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	for i, p := range [][2]int{{31415, 27182}, {9, 8}, {2653, 1828}, {58979, 45904}} {
		req := &pb.StreamingOutputCallRequest{ResponseType: pb.PayloadType_COMPRESSABLE,
			ResponseParameters: []*pb.ResponseParameters{{Size: int32(p[0])}}, Payload: payload(p[1])}
		if err := stream.Send(req); err != nil {
			return fmt.Errorf("ping %d: %v", i, err)
		}
		reply, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("pong %d: %v", i, err)
		}
		if err := checkPayload(reply.Payload, p[0]); err != nil {
			return fmt.Errorf("pong %d: %v", i, err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("CloseSend: %v", err)
	}
	return expectEOF(func() error { _, err := stream.Recv(); return err })
}

func emptyStream(ctx context.Context, c *client) error {
	stream, err := c.stub.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("CloseSend: %v", err)
	}
	return expectEOF(func() error { _, err := stream.Recv(); return err })
}

func customMetadata(ctx context.Context, c *client) error {
	var header, trailer metadata.MD
	reply, err := c.stub.UnaryCall(echoContext(ctx),
		&pb.SimpleRequest{ResponseType: pb.PayloadType_COMPRESSABLE, ResponseSize: 314159, Payload: payload(271828)},
		grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		return fmt.Errorf("UnaryCall: %v", err)
	}
	if err := checkPayload(reply.Payload, 314159); err != nil {
		return fmt.Errorf("UnaryCall: %v", err)
	}
	if err := checkEcho(header, trailer); err != nil {
		return fmt.Errorf("UnaryCall: %v", err)
	}

	stream, err := c.stub.FullDuplexCall(echoContext(ctx))
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	req := &pb.StreamingOutputCallRequest{ResponseType: pb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*pb.ResponseParameters{{Size: 314159}}, Payload: payload(271828)}
	if err := stream.Send(req); err != nil {
		return fmt.Errorf("FullDuplexCall send: %v", err)
	}
	got, err := stream.Recv()
	if err != nil {
		return fmt.Errorf("FullDuplexCall recv: %v", err)
	}
	if err := checkPayload(got.Payload, 314159); err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall CloseSend: %v", err)
	}
	if err := expectEOF(func() error { _, err := stream.Recv(); return err }); err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	header, err = stream.Header()
	if err != nil {
		return fmt.Errorf("FullDuplexCall Header: %v", err)
	}
	if err := checkEcho(header, stream.Trailer()); err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	return nil
}

func statusCodeAndMessage(ctx context.Context, c *client) error {
	const msg = "test status message"
	echo := &pb.EchoStatus{Code: 2, Message: msg}
	_, err := c.stub.UnaryCall(ctx, &pb.SimpleRequest{ResponseStatus: echo})
	if err := expectCode(err, codes.Unknown, msg); err != nil {
		return fmt.Errorf("UnaryCall: %v", err)
	}
	stream, err := c.stub.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	if err := stream.Send(&pb.StreamingOutputCallRequest{ResponseStatus: echo}); err != nil {
		return fmt.Errorf("FullDuplexCall send: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall CloseSend: %v", err)
	}
	_, err = stream.Recv()
	if err := expectCode(err, codes.Unknown, msg); err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	return nil
}

func specialStatusMessage(ctx context.Context, c *client) error {
	const msg = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"
	_, err := c.stub.UnaryCall(ctx, &pb.SimpleRequest{ResponseStatus: &pb.EchoStatus{Code: 2, Message: msg}})
	return expectCode(err, codes.Unknown, msg)
}

func unimplementedMethod(ctx context.Context, c *client) error {
	_, err := c.stub.UnimplementedCall(ctx, &pb.Empty{})
	return expectCode(err, codes.Unimplemented, "")
}

func unimplementedService(ctx context.Context, c *client) error {
	err := c.conn.Invoke(ctx, "/grpc.testing.UnimplementedService/UnimplementedCall", &pb.Empty{}, &pb.Empty{})
	return expectCode(err, codes.Unimplemented, "")
}

func cancelAfterBegin(ctx context.Context, c *client) error {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.stub.StreamingInputCall(ctx)
	if err != nil {
		cancel()
		return fmt.Errorf("StreamingInputCall: %v", err)
	}
	cancel()
	_, err = stream.CloseAndRecv()
	return expectCode(err, codes.Canceled, "")
}

func cancelAfterFirstResponse(ctx context.Context, c *client) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.stub.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	req := &pb.StreamingOutputCallRequest{ResponseType: pb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*pb.ResponseParameters{{Size: 31415}}, Payload: payload(27182)}
	if err := stream.Send(req); err != nil {
		return fmt.Errorf("send: %v", err)
	}
	reply, err := stream.Recv()
	if err != nil {
		return fmt.Errorf("first response: %v", err)
	}
	if err := checkPayload(reply.Payload, 31415); err != nil {
		return fmt.Errorf("first response: %v", err)
	}
	cancel()
	_, err = stream.Recv()
	return expectCode(err, codes.Canceled, "")
}

func timeoutOnSleepingServer(ctx context.Context, c *client) error {
	ctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	stream, err := c.stub.FullDuplexCall(ctx)
	if err != nil {
		// The deadline may pass before the stream opens; that is the expected outcome too.
		return expectCode(err, codes.DeadlineExceeded, "")
	}
	if err := stream.Send(&pb.StreamingOutputCallRequest{Payload: payload(27182)}); err != nil && err != io.EOF {
		return fmt.Errorf("send: %v", err)
	}
	_, err = stream.Recv()
	return expectCode(err, codes.DeadlineExceeded, "")
}

func clientCompressedUnary(ctx context.Context, c *client) error {
	request := func(expect bool) *pb.SimpleRequest {
		return &pb.SimpleRequest{ResponseType: pb.PayloadType_COMPRESSABLE, ResponseSize: 314159,
			Payload: payload(271828), ExpectCompressed: &pb.BoolValue{Value: expect}}
	}
	// Probe: the server must notice an uncompressed request that claims to be compressed.
	_, err := c.stub.UnaryCall(ctx, request(true))
	if err := expectCode(err, codes.InvalidArgument, ""); err != nil {
		return fmt.Errorf("probe (expect_compressed, sent plain): %v", err)
	}
	reply, err := c.stub.UnaryCall(ctx, request(true), grpc.UseCompressor("gzip"))
	if err != nil {
		return fmt.Errorf("compressed, expect_compressed true: %v", err)
	}
	if err := checkPayload(reply.Payload, 314159); err != nil {
		return fmt.Errorf("compressed, expect_compressed true: %v", err)
	}
	reply, err = c.stub.UnaryCall(ctx, request(false))
	if err != nil {
		return fmt.Errorf("plain, expect_compressed false: %v", err)
	}
	if err := checkPayload(reply.Payload, 314159); err != nil {
		return fmt.Errorf("plain, expect_compressed false: %v", err)
	}
	return nil
}

func clientCompressedStreaming(ctx context.Context, c *client) error {
	// Probe: an uncompressed message with expect_compressed must fail INVALID_ARGUMENT.
	probe, err := c.stub.StreamingInputCall(ctx)
	if err != nil {
		return fmt.Errorf("probe: %v", err)
	}
	if err := probe.Send(&pb.StreamingInputCallRequest{Payload: payload(27182), ExpectCompressed: &pb.BoolValue{Value: true}}); err != nil && err != io.EOF {
		return fmt.Errorf("probe send: %v", err)
	}
	_, err = probe.CloseAndRecv()
	if err := expectCode(err, codes.InvalidArgument, ""); err != nil {
		return fmt.Errorf("probe (expect_compressed, sent plain): %v", err)
	}

	stream, err := c.stub.StreamingInputCall(ctx, grpc.UseCompressor("gzip"))
	if err != nil {
		return fmt.Errorf("StreamingInputCall: %v", err)
	}
	if err := stream.Send(&pb.StreamingInputCallRequest{Payload: payload(27182), ExpectCompressed: &pb.BoolValue{Value: true}}); err != nil {
		return fmt.Errorf("first message: %v", err)
	}
	if err := stream.Send(&pb.StreamingInputCallRequest{Payload: payload(45904), ExpectCompressed: &pb.BoolValue{Value: false}}); err != nil {
		return fmt.Errorf("second message: %v", err)
	}
	reply, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("CloseAndRecv: %v", err)
	}
	if reply.AggregatedPayloadSize != 73086 {
		return fmt.Errorf("aggregated_payload_size %d, want 73086", reply.AggregatedPayloadSize)
	}
	return nil
}

// acceptGzip offers gzip for responses: grpc-go 1.33 sends grpc-accept-encoding only on calls it compresses.
func acceptGzip(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "grpc-accept-encoding", "gzip")
}

func serverCompressedUnary(ctx context.Context, c *client) error {
	for _, compressed := range []bool{true, false} {
		rctx, rec := recording(acceptGzip(ctx))
		reply, err := c.stub.UnaryCall(rctx, &pb.SimpleRequest{ResponseType: pb.PayloadType_COMPRESSABLE,
			ResponseSize: 314159, Payload: payload(271828), ResponseCompressed: &pb.BoolValue{Value: compressed}})
		if err != nil {
			return fmt.Errorf("response_compressed %v: %v", compressed, err)
		}
		if err := checkPayload(reply.Payload, 314159); err != nil {
			return fmt.Errorf("response_compressed %v: %v", compressed, err)
		}
		if flags := rec.flags(); len(flags) != 1 || flags[0] != compressed {
			return fmt.Errorf("response_compressed %v: received messages compressed %v, want [%v]", compressed, flags, compressed)
		}
	}
	return nil
}

func serverCompressedStreaming(ctx context.Context, c *client) error {
	rctx, rec := recording(acceptGzip(ctx))
	stream, err := c.stub.StreamingOutputCall(rctx, &pb.StreamingOutputCallRequest{ResponseType: pb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*pb.ResponseParameters{
			{Size: 31415, Compressed: &pb.BoolValue{Value: true}},
			{Size: 92653, Compressed: &pb.BoolValue{Value: false}},
		}})
	if err != nil {
		return fmt.Errorf("StreamingOutputCall: %v", err)
	}
	for i, n := range []int{31415, 92653} {
		reply, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("response %d: %v", i, err)
		}
		if err := checkPayload(reply.Payload, n); err != nil {
			return fmt.Errorf("response %d: %v", i, err)
		}
	}
	if err := expectEOF(func() error { _, err := stream.Recv(); return err }); err != nil {
		return err
	}
	if flags := rec.flags(); len(flags) != 2 || !flags[0] || flags[1] {
		return fmt.Errorf("received messages compressed %v, want [true false]", flags)
	}
	return nil
}
