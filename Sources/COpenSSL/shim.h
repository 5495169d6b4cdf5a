// OpenSSL 3 (Debian libssl-dev). Two Swift importers, each with one job: CellHubCrypto
// (libcrypto: SHA-256 on the CPU's SHA extensions, a constant-time compare) and TLS (libssl:
// the TLS layer under HTTP/2). The shims below exist because the OpenSSL calls they wrap are
// macros (over SSL_CTX_ctrl / BIO_ctrl) or constants built with SSL_OP_BIT, which Swift
// cannot import.
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "CellHub needs OpenSSL 3 (EVP_MD_fetch, EVP_DigestInit_ex2): install a newer libssl-dev"
#endif

/// SSL_CTX_set_min_proto_version is a macro: TLS 1.2 is the oldest version HTTP/2 allows.
static inline int cellhub_ssl_ctx_require_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

/// SSL_CTX_set_mode is a macro.
static inline void cellhub_ssl_ctx_set_mode(SSL_CTX *ctx, long mode) { (void)SSL_CTX_set_mode(ctx, mode); }

/// The SSL_OP_* bits are SSL_OP_BIT(n) expressions.
static const uint64_t cellhub_ssl_op_no_renegotiation = SSL_OP_NO_RENEGOTIATION;
static const uint64_t cellhub_ssl_op_ignore_unexpected_eof = SSL_OP_IGNORE_UNEXPECTED_EOF;

/// SSL_set_tlsext_host_name (SNI) is a macro.
static inline int cellhub_ssl_set_server_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

/// BIO_set_retry_read and BIO_clear_retry_flags are macros: a transport BIO with no input
/// left tells OpenSSL to try again later (SSL_ERROR_WANT_READ) instead of reporting EOF.
static inline void cellhub_bio_set_retry_read(BIO *bio) { BIO_set_retry_read(bio); }
static inline void cellhub_bio_clear_retry_flags(BIO *bio) { BIO_clear_retry_flags(bio); }
#endif
