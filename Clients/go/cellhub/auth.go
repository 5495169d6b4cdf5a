// Package cellhub is a small hand-written layer over the generated cellhubv1 stubs: bearer-token
// credentials and a WatchProject loop that resumes where it left off.
package cellhub

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Token returns per-RPC credentials that send "authorization: Bearer <token>" with every call,
// as every cellhub.v1 RPC requires (common.proto).
func Token(token string) credentials.PerRPCCredentials { return bearer(token) }

// WithToken is the dial option form of Token: every call on the connection carries the token.
func WithToken(token string) grpc.DialOption { return grpc.WithPerRPCCredentials(bearer(token)) }

type bearer string

func (t bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity is false so the token also works on plaintext channels (a local
// cellhubd, tests); grpc-go would otherwise refuse to dial without TLS. Use TLS across networks.
func (bearer) RequireTransportSecurity() bool { return false }
