// mcpvisor cluster-certs DIR --nodes N: a CA and N node certificates for the
// cluster's mutual TLS, made with OpenSSL (for tests and first deployments;
// docs/operations.md, "Running a cluster", says how to use your own PKI).

#include "app/cluster_certs.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <sys/stat.h>

#include <openssl/rand.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <CLI/CLI.hpp>

namespace mcpvisor::app {

namespace {

using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using cert_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

key_ptr new_key() {
  return {EVP_EC_gen("P-256"), &EVP_PKEY_free};
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  auto* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr)
    return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

/// A certificate for `key` named `cn`, valid for `days`, signed by
/// `issuer_key` (itself when `issuer` is null).
cert_ptr make_cert(EVP_PKEY* key, const std::string& cn, long serial, X509* issuer,
                   EVP_PKEY* issuer_key, bool ca, int days) {
  cert_ptr cert{X509_new(), &X509_free};
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * days);
  X509_set_pubkey(cert.get(), key);
  auto* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("mcpvisor cluster"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  bool ok = true;
  if (ca) {
    ok = add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
         && add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign")
         && add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    ok = add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE")
         && add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature")
         && add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth")
         && add_ext(cert.get(), signer, NID_subject_alt_name,
                    "DNS:" + cn + ",DNS:localhost,IP:127.0.0.1")
         && add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid");
  }
  if (!ok || X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0)
    return {nullptr, &X509_free};
  return cert;
}

bool write_pem(const std::filesystem::path& path, EVP_PKEY* key, X509* cert) {
  // keys are readable by their owner only
  auto old = ::umask(key != nullptr ? 077 : 022);
  auto* f = std::fopen(path.c_str(), "w");
  ::umask(old);
  if (f == nullptr)
    return false;
  bool ok = key != nullptr
              ? PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1
              : PEM_write_X509(f, cert) == 1;
  return std::fclose(f) == 0 && ok;
}

/// 32 random bytes as 64 hex digits, readable by the owner only.
bool write_secret(const std::filesystem::path& path) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    return false;
  auto old = ::umask(077);
  auto* f = std::fopen(path.c_str(), "w");
  ::umask(old);
  if (f == nullptr)
    return false;
  for (auto b : bytes)
    std::fprintf(f, "%02x", b);
  std::fputc('\n', f);
  return std::fclose(f) == 0;
}

} // namespace

int cluster_certs_main(int argc, char** argv) {
  CLI::App app{"Makes a CA and node certificates for a cluster's mutual TLS:\n"
               "DIR/ca.pem, DIR/ca.key (keep it offline), and for each node\n"
               "DIR/node-I.pem and DIR/node-I.key (I = 1..N); and the secret\n"
               "every node shares, DIR/cluster.secret",
               "mcpvisor cluster-certs"};
  std::string dir;
  int nodes = 3;
  int days = 825;
  app.add_option("DIR", dir, "folder to write into (created if missing)")->required();
  app.add_option("--nodes", nodes, "node certificates to make")
    ->capture_default_str()
    ->check(CLI::Range(1, 1000));
  app.add_option("--days", days, "validity")->capture_default_str()->check(CLI::Range(1, 3650));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, std::cout, std::cerr) == 0 ? 0 : 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::cerr << "cannot create " << dir << ": " << ec.message() << '\n';
    return 1;
  }
  std::filesystem::path out{dir};
  if (std::filesystem::exists(out / "ca.key")) {
    std::cerr << (out / "ca.key").string()
              << " exists: refusing to replace a CA (use another folder)\n";
    return 1;
  }
  auto ca_key = new_key();
  if (!ca_key) {
    std::cerr << "cannot make a key\n";
    return 1;
  }
  auto ca = make_cert(ca_key.get(), "mcpvisor cluster CA", 1, nullptr, ca_key.get(), true, days);
  if (!ca || !write_pem(out / "ca.key", ca_key.get(), nullptr)
      || !write_pem(out / "ca.pem", nullptr, ca.get())) {
    std::cerr << "cannot make or write the CA in " << dir << '\n';
    return 1;
  }
  for (int i = 1; i <= nodes; ++i) {
    auto key = new_key();
    auto name = "node-" + std::to_string(i);
    auto cert = key ? make_cert(key.get(), name, i + 1, ca.get(), ca_key.get(), false, days)
                    : cert_ptr{nullptr, &X509_free};
    if (!cert || !write_pem(out / (name + ".key"), key.get(), nullptr)
        || !write_pem(out / (name + ".pem"), nullptr, cert.get())) {
      std::cerr << "cannot make or write " << name << " in " << dir << '\n';
      return 1;
    }
  }
  if (!write_secret(out / "cluster.secret")) {
    std::cerr << "cannot write " << (out / "cluster.secret").string() << '\n';
    return 1;
  }
  std::cout << "wrote " << (out / "ca.pem").string() << ", " << nodes
            << " node certificates and the cluster secret; start node I with\n"
            << "  --cluster-tls-ca " << (out / "ca.pem").string() << " --cluster-tls-cert "
            << (out / "node-I.pem").string() << " --cluster-tls-key "
            << (out / "node-I.key").string() << " --cluster-secret-file "
            << (out / "cluster.secret").string() << '\n';
  return 0;
}

} // namespace mcpvisor::app
