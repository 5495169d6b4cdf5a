// The grpc-go reference peer of ../shared/peers/grpc-go/main.go (copied, not shared: that
// directory is not ours to edit) with TLS: -tls-cert CHAIN.pem -tls-key KEY.pem, ALPN h2 by
// grpc-go's credentials. Only what bench-tls.sh calls: EmptyCall, UnaryCall, StreamingOutputCall.
// Built by bench-tls.sh against the interop stubs ../shared/peers/build.sh generates.
// Usage: grpc-go-reference-tls -port 0 -tls-cert F -tls-key F; first stdout line: listening on 127.0.0.1:PORT
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	pb "example.com/interoppb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
)

type srv struct{ pb.UnimplementedTestServiceServer }

func (srv) EmptyCall(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) { return &pb.Empty{}, nil }
func (srv) UnaryCall(ctx context.Context, r *pb.SimpleRequest) (*pb.SimpleResponse, error) {
	if s := r.GetResponseStatus(); s != nil && s.Code != 0 { return nil, status.Error(codes.Code(s.Code), s.Message) }
	return &pb.SimpleResponse{Payload: &pb.Payload{Body: make([]byte, r.ResponseSize)}}, nil
}
func (srv) StreamingOutputCall(r *pb.StreamingOutputCallRequest, st pb.TestService_StreamingOutputCallServer) error {
	if s := r.GetResponseStatus(); s != nil && s.Code != 0 { return status.Error(codes.Code(s.Code), s.Message) }
	for _, p := range r.ResponseParameters {
		if p.IntervalUs > 0 { time.Sleep(time.Duration(p.IntervalUs) * time.Microsecond) }
		if err := st.Send(&pb.StreamingOutputCallResponse{Payload: &pb.Payload{Body: make([]byte, p.Size)}}); err != nil { return err }
	}
	return nil
}

func main() {
	port := flag.Int("port", 0, "port (0 = ephemeral)")
	cert := flag.String("tls-cert", "", "PEM certificate chain")
	key := flag.String("tls-key", "", "PEM private key")
	flag.Parse()
	creds, err := credentials.NewServerTLSFromFile(*cert, *key)
	if err != nil { panic(err) }
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil { panic(err) }
	s := grpc.NewServer(grpc.Creds(creds))
	pb.RegisterTestServiceServer(s, srv{})
	fmt.Printf("listening on %s\n", lis.Addr().String())
	os.Stdout.Sync()
	s.Serve(lis)
}
