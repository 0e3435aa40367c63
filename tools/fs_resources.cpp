// File resources under a root directory, read-only. Lexical checks come from
// protocol/path.hpp; here the file system is asked where a path really leads
// (symlinks), so nothing outside the root is ever read.

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tools/tool_sets.hpp"
#include "protocol/path.hpp"
#include "protocol/seal.hpp"

namespace mcpvisor::tools {

namespace {

using namespace protocol;
namespace fs = std::filesystem;

constexpr size_t max_file_bytes = 8 * 1024 * 1024;

std::string mime_for(const std::string& path) {
  auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  for (auto& c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "md")
    return "text/markdown";
  if (ext == "txt" || ext == "log" || ext == "cfg" || ext == "ini"
      || ext == "toml")
    return "text/plain";
  if (ext == "json")
    return "application/json";
  if (ext == "html" || ext == "htm")
    return "text/html";
  if (ext == "csv")
    return "text/csv";
  if (ext == "png")
    return "image/png";
  if (ext == "jpg" || ext == "jpeg")
    return "image/jpeg";
  if (ext == "pdf")
    return "application/pdf";
  if (ext == "cpp" || ext == "hpp" || ext == "c" || ext == "h" || ext == "py"
      || ext == "sh" || ext == "js" || ext == "ts")
    return "text/plain";
  return "application/octet-stream";
}

bool looks_textual(const std::string& data) {
  for (unsigned char c : data)
    if (c == 0)
      return false;
  return true;
}

/// The real path of `path` if it exists and stays inside `root` after every
/// symlink is resolved.
std::optional<std::string> resolve(const std::string& root,
                                   const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr)
    return std::nullopt;
  std::string real{buf};
  if (!path_within(root, real))
    return std::nullopt;
  return real;
}

/// Opens the regular file `uri` names under `root`; -1 if it names nothing
/// there. Non-blocking, so that a FIFO or a device cannot hold the thread,
/// and checked with fstat on what was opened, never stat before open.
int open_regular(const std::string& root, std::string_view uri,
                 std::string* real_path = nullptr, struct stat* info = nullptr) {
  auto lexical = file_uri_path(uri);
  if (!lexical || !path_within(root, *lexical))
    return -1;
  auto real = resolve(root, *lexical);
  if (!real)
    return -1;
  int fd = ::open(real->c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    return -1;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return -1;
  }
  if (real_path != nullptr)
    *real_path = std::move(*real);
  if (info != nullptr)
    *info = st;
  return fd;
}

/// Whether `uri` names a regular file under `root` (resources/subscribe).
bool file_exists(const std::string& root, std::string_view uri) {
  int fd = open_regular(root, uri);
  if (fd < 0)
    return false;
  ::close(fd);
  return true;
}

read_result read_file(const std::string& root, call_context& ctx) {
  std::string real;
  struct stat st {};
  int fd = open_regular(root, ctx.uri(), &real, &st);
  if (fd < 0)
    return read_result::missing();
  if (static_cast<size_t>(st.st_size) > max_file_bytes) {
    ::close(fd);
    throw tool_error("file is larger than "
                     + std::to_string(max_file_bytes / (1024 * 1024))
                     + " MiB");
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    auto n = ::read(fd, data.data() + got, data.size() - got);
    if (n <= 0)
      break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  data.resize(got);
  auto mime = mime_for(real);
  read_result r;
  if (looks_textual(data) && mime.rfind("image/", 0) != 0
      && mime != "application/pdf")
    r.contents.push_back(resource_contents::text(ctx.uri(), mime, data));
  else
    r.contents.push_back(resource_contents::blob(ctx.uri(), mime, base64_encode(data)));
  return r;
}

/// The file_hash tool: SHA-256 of a file under the root, read in 1 MiB
/// pieces with progress, cancellable; a task when the client allows.
tool_definition file_hash(const std::string& root) {
  tool_definition t;
  t.name = "file_hash";
  t.title = "File hash";
  t.description = "Computes the SHA-256 of a file under the files root (a "
                  "file:// URI), reading it piece by piece and reporting "
                  "progress. Runs as a task for clients that allow it "
                  "(2026-07-28 with the tasks extension).";
  t.input_schema
    = R"({"type":"object","properties":{"uri":{"type":"string","description":"file:// URI of the file"}},"required":["uri"],"additionalProperties":false})";
  t.annotations = {"File hash", true, false, true, false};
  t.tasks = task_support::optional;
  t.timeout = std::chrono::minutes{30};
  t.handler = [root](call_context& ctx) -> tool_result {
    struct stat st {};
    int fd = open_regular(root, ctx.arg_string("uri"), nullptr, &st);
    if (fd < 0)
      throw tool_error("no file under the files root has that URI");
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md{EVP_MD_CTX_new(),
                                                               &EVP_MD_CTX_free};
    EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr);
    std::vector<char> piece(1 << 20);
    uint64_t total = static_cast<uint64_t>(st.st_size);
    uint64_t done = 0;
    for (;;) {
      auto n = ::read(fd, piece.data(), piece.size());
      if (n <= 0)
        break;
      EVP_DigestUpdate(md.get(), piece.data(), static_cast<size_t>(n));
      done += static_cast<uint64_t>(n);
      ctx.progress(static_cast<double>(done), static_cast<double>(total), "bytes hashed");
      if (ctx.cancelled()) {
        ::close(fd);
        throw request_failure("cancelled after " + std::to_string(done) + " bytes");
      }
    }
    ::close(fd);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md.get(), digest, &len);
    static constexpr char hex[] = "0123456789abcdef";
    std::string text;
    for (unsigned i = 0; i < len; ++i) {
      text += hex[digest[i] >> 4];
      text += hex[digest[i] & 15];
    }
    auto r = tool_result::text(text);
    r.structured = R"({"sha256":")" + text + R"(","bytes":)" + std::to_string(done) + "}";
    return r;
  };
  return t;
}

} // namespace

std::optional<std::string> add_file_resources(catalog& cat,
                                              const std::string& root_dir,
                                              size_t max_listed) {
  char buf[PATH_MAX];
  if (::realpath(root_dir.c_str(), buf) == nullptr)
    return "files root '" + root_dir + "' does not exist";
  std::string root{buf};
  if (!fs::is_directory(root))
    return "files root '" + root_dir + "' is not a directory";
  resource_template_definition t;
  t.uri_template = "file://{+path}";
  t.name = "files";
  t.title = "Files";
  t.description = "Files under " + root + " (read-only)";
  t.handler = [root](call_context& ctx) { return read_file(root, ctx); };
  t.exists = [root](std::string_view uri) { return file_exists(root, uri); };
  t.complete["path"] = [root](std::string_view prefix, const uri_template::variables&) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         it != fs::recursive_directory_iterator() && out.size() < 100;
         it.increment(ec)) {
      if (ec)
        break;
      auto p = it->path().string();
      if (it->is_regular_file(ec) && p.compare(0, prefix.size(), prefix) == 0)
        out.push_back(p);
    }
    return out;
  };
  if (auto err = cat.add_resource_template(std::move(t)))
    return err;
  if (auto err = cat.add_tool(file_hash(root)))
    return err;
  std::error_code ec;
  size_t listed = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       it != fs::recursive_directory_iterator() && listed < max_listed;
       it.increment(ec)) {
    if (ec)
      break;
    if (!it->is_regular_file(ec) || it->is_symlink(ec))
      continue;
    auto path = it->path().string();
    resource_definition r;
    r.uri = file_uri(path);
    r.name = it->path().filename().string();
    r.mime_type = mime_for(path);
    r.size = static_cast<uint64_t>(it->file_size(ec));
    r.handler = [root](call_context& ctx) { return read_file(root, ctx); };
    if (auto err = cat.add_resource(std::move(r)))
      return err;
    ++listed;
  }
  return std::nullopt;
}

} // namespace mcpvisor::tools
