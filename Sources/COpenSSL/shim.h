// OpenSSL's libcrypto (Debian libssl-dev): SHA-256 with the CPU's SHA extensions where it has
// them, and a constant-time compare. CellHubCrypto is its only Swift importer.
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "CellHub needs OpenSSL 3 (EVP_MD_fetch, EVP_DigestInit_ex2): install a newer libssl-dev"
#endif
#endif
