#include "server/server.h"

#include <httplib.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/metrics.h"
#include "quality/quality.h"
#include "server/http_common.h"
#include "server/openapi.h"
#include "table/table.h"

namespace loom::server {

using nlohmann::json;

// When the request the current thread serves started (httplib runs a request's handlers and its
// logger on one thread).
thread_local std::chrono::steady_clock::time_point request_started;

void Send(httplib::Response& res, const json& body, int status) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void SendProblem(const httplib::Request& req, httplib::Response& res, const Status& status) {
  res.status = HttpStatusFor(status.code());
  res.set_content(ProblemJson(status, req.path).dump(), "application/problem+json");
}

void Reply(const httplib::Request& req, httplib::Response& res, const Result<json>& result) {
  if (result.ok()) {
    Send(res, *result);
  } else {
    SendProblem(req, res, result.status());
  }
}

std::optional<std::string> Param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  return req.get_param_value(name);
}

Result<uint32_t> UintParam(const httplib::Request& req, const char* name, uint32_t fallback) {
  std::optional<std::string> v = Param(req, name);
  if (!v) return fallback;
  uint32_t out = 0;
  if (v->empty() || v->size() > 9) {
    return InvalidArgument(std::string("query parameter '") + name + "': expected a number");
  }
  for (char c : *v) {
    if (c < '0' || c > '9') {
      return InvalidArgument(std::string("query parameter '") + name + "': expected a number");
    }
    out = out * 10 + static_cast<uint32_t>(c - '0');
  }
  return out;
}

Result<json> ParseJsonBody(const httplib::Request& req) {
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return InvalidArgument("request body: expected a JSON object");
  }
  return body;
}

namespace {

// The caller of the request being handled: set by the pre-routing handler, which httplib runs on
// the handler's own thread just before the route.
thread_local platform::Caller tl_caller;

Result<std::vector<platform::SourceFile>> ApplyFiles(const json& body) {
  if (!body.contains("files") || !body["files"].is_array()) {
    return InvalidArgument("request body: 'files' must be an array of {path, text}");
  }
  std::vector<platform::SourceFile> files;
  for (size_t i = 0; i < body["files"].size(); ++i) {
    const json& f = body["files"][i];
    if (!f.is_object() || !f.contains("text") || !f["text"].is_string() ||
        (f.contains("path") && !f["path"].is_string())) {
      return InvalidArgument("request body: files[" + std::to_string(i) +
                             "] must be {\"path\": string, \"text\": string}");
    }
    files.push_back({f.value("path", "files[" + std::to_string(i) + "]"), f["text"]});
  }
  return files;
}

// The address named by the path captures of /v1/products/{domain}/{product}[...].
Result<Address> PathAddress(const httplib::Request& req,
                            const std::optional<std::string>& version) {
  std::string text = "loom://" + std::string(req.matches[1]) + "/" + std::string(req.matches[2]);
  if (req.matches.size() > 3 && req.matches[3].matched) text += "/" + std::string(req.matches[3]);
  if (version) text += "@" + *version;
  return Address::Parse(text);
}

// Streams encoded query output into a chunked HTTP response.
class DataSinkAdapter final : public engine::Sink {
 public:
  explicit DataSinkAdapter(httplib::DataSink& sink) : sink_(sink) {}
  Status Write(std::string_view bytes) override {
    if (!sink_.write(bytes.data(), bytes.size())) return Cancelled("the client went away");
    return Status::Ok();
  }

 private:
  httplib::DataSink& sink_;
};

Result<table::SourceKind> UploadKind(const httplib::Request& req) {
  std::string format = Param(req, "format").value_or("");
  std::string type = req.get_header_value("Content-Type");
  type = type.substr(0, type.find(';'));
  if (format == "csv" || (format.empty() && type == "text/csv")) return table::SourceKind::kCsv;
  if (format == "jsonl" ||
      (format.empty() && (type == "application/x-ndjson" || type == "application/jsonl" ||
                          type == "application/json-seq"))) {
    return table::SourceKind::kJsonLines;
  }
  if (format == "parquet" || (format.empty() && type == "application/vnd.apache.parquet")) {
    return table::SourceKind::kParquet;
  }
  return InvalidArgument(
      "upload: say what the body is with Content-Type text/csv, "
      "application/x-ndjson or application/vnd.apache.parquet (or ?format=csv|jsonl|parquet)");
}

const char* ContentTypeOf(engine::Format f) {
  switch (f) {
    case engine::Format::kJson:
      return "application/json";
    case engine::Format::kNdjson:
      return "application/x-ndjson";
    case engine::Format::kCsv:
      return "text/csv; charset=utf-8";
    case engine::Format::kParquet:
      return "application/vnd.apache.parquet";
    case engine::Format::kTable:
      return "text/plain; charset=utf-8";
  }
  return "application/octet-stream";
}

}  // namespace

struct Server::Impl {
  explicit Impl(std::unique_ptr<httplib::Server> server) : owner(std::move(server)), http(*owner) {}
  std::unique_ptr<httplib::Server> owner;  // an httplib::SSLServer when TLS is configured
  httplib::Server& http;
  platform::Platform* platform = nullptr;
  std::thread thread;
  int port = 0;
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;

  void Routes();
  void PipelineRoutes(const char* name);  // pipelines, runs, rebuild, lineage
  platform::Caller CallerOf(const httplib::Request&) const { return tl_caller; }
};

void Server::Impl::Routes() {
  // Every request gets an id (the client's X-Request-Id when it sends a sane one), echoed in the
  // response and in one structured JSON log line with its outcome and duration. Every request
  // but /healthz and the API description then authenticates: a Bearer API token or JWT.
  // Anything else is 401 with WWW-Authenticate (and an audited `authenticate` denial).
  // (httplib keeps one pre-routing handler: both jobs live in this one.)
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    std::string id = req.get_header_value("X-Request-Id");
    const bool sane = !id.empty() && id.size() <= 64 &&
                      id.find_first_not_of(
                          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789-_.") == std::string::npos;
    res.set_header("X-Request-Id", sane ? id : NewUuid());
    request_started = std::chrono::steady_clock::now();
    if (req.path == "/healthz" || req.path == "/v1/openapi.json") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    std::string header = req.get_header_value("Authorization");
    std::string bearer;
    if (header.size() > 7 &&
        (header.compare(0, 7, "Bearer ") == 0 || header.compare(0, 7, "bearer ") == 0)) {
      bearer = header.substr(7);
    }
    Result<platform::Caller> caller = platform->Authenticate(bearer);
    if (!caller.ok()) {
      res.set_header("WWW-Authenticate", bearer.empty()
                                             ? "Bearer realm=\"loom\""
                                             : "Bearer realm=\"loom\", error=\"invalid_token\"");
      SendProblem(req, res, caller.status());
      return httplib::Server::HandlerResponse::Handled;
    }
    tl_caller = *std::move(caller);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  SecurityRoutes(http, *platform, [] { return tl_caller; });
  http.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unexpected error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendProblem(req, res, Internal(what));
      });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty() && res.status == 404) {
      SendProblem(req, res, NotFound("no route for " + req.method + " " + req.path));
    }
  });
  http.set_payload_max_length(64u << 20);

  http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - request_started).count();
    metrics::Registry& m = metrics::Registry::Default();
    m.GetCounter("loom_http_requests_total", "HTTP requests served, by method and status.",
                 {{"method", req.method}, {"status", std::to_string(res.status)}})
        .Inc();
    m.GetHistogram("loom_http_request_duration_seconds", "Time to answer an HTTP request.",
                   {{"method", req.method}})
        .Observe(seconds);
    quality::LogJson(res.status >= 500 ? "error" : "info", "request",
                     {{"requestId", res.get_header_value("X-Request-Id")},
                      {"method", req.method},
                      {"path", req.path},
                      {"status", res.status},
                      {"durationMs", seconds * 1000}});
  });
  http.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    Result<std::string> text = platform->MetricsText(CallerOf(req));
    if (!text.ok()) return SendProblem(req, res, text.status());
    res.set_content(*text, "text/plain; version=0.0.4; charset=utf-8");
  });
  http.Get("/v1/slos", [this](const httplib::Request& req, httplib::Response& res) {
    std::optional<Address> a;
    if (auto text = Param(req, "address")) {
      Result<Address> parsed = Address::Parse(*text);
      if (!parsed.ok()) return SendProblem(req, res, parsed.status().WithPrefix("address"));
      a = *parsed;
    }
    Reply(req, res, platform->SloStatus(CallerOf(req), a));
  });
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    Send(res, {{"status", "ok"}});
  });
  http.Get("/v1/openapi.json",
           [](const httplib::Request&, httplib::Response& res) { Send(res, OpenApiDocument()); });
  http.Post("/v1/apply", [this](const httplib::Request& req, httplib::Response& res) {
    Result<json> body = ParseJsonBody(req);
    if (!body.ok()) return SendProblem(req, res, body.status());
    Result<std::vector<platform::SourceFile>> files = ApplyFiles(*body);
    if (!files.ok()) return SendProblem(req, res, files.status());
    bool dry_run = body->value("dryRun", false);
    Reply(req, res, platform->Apply(CallerOf(req), *files, dry_run));
  });
  // Governance: the apply review without applying, diffs, global types.
  for (const char* route : {"/v1/policy/check", "/v1/diff"}) {
    const bool check = std::string(route) == "/v1/policy/check";
    http.Post(route, [this, check](const httplib::Request& req, httplib::Response& res) {
      Result<json> body = ParseJsonBody(req);
      if (!body.ok()) return SendProblem(req, res, body.status());
      Result<std::vector<platform::SourceFile>> files = ApplyFiles(*body);
      if (!files.ok()) return SendProblem(req, res, files.status());
      Reply(req, res,
            check ? platform->PolicyCheck(CallerOf(req), *files)
                  : platform->Diff(CallerOf(req), *files));
    });
  }
  http.Get("/v1/diff", [this](const httplib::Request& req, httplib::Response& res) {
    Result<Address> from = Address::Parse(Param(req, "from").value_or(""));
    if (!from.ok()) return SendProblem(req, res, from.status().WithPrefix("from"));
    Result<Address> to = Address::Parse(Param(req, "to").value_or(""));
    if (!to.ok()) return SendProblem(req, res, to.status().WithPrefix("to"));
    Reply(req, res, platform->DiffVersions(CallerOf(req), *from, *to));
  });
  http.Get("/v1/types", [this](const httplib::Request& req, httplib::Response& res) {
    Reply(req, res, platform->GlobalTypes(CallerOf(req), std::nullopt));
  });
  http.Get("/v1/types/([a-z_][a-z0-9_]*)",
           [this](const httplib::Request& req, httplib::Response& res) {
             Reply(req, res, platform->GlobalTypes(CallerOf(req), std::string(req.matches[1])));
           });
  http.Get("/v1/domains", [this](const httplib::Request& req, httplib::Response& res) {
    Reply(req, res, platform->ListDomains(CallerOf(req)));
  });
  http.Get("/v1/products", [this](const httplib::Request& req, httplib::Response& res) {
    Reply(req, res, platform->ListProducts(CallerOf(req), Param(req, "domain")));
  });
  http.Get("/v1/search", [this](const httplib::Request& req, httplib::Response& res) {
    platform::SearchParams p;
    p.text = Param(req, "q").value_or("");
    p.domain = Param(req, "domain");
    p.tag = Param(req, "tag");
    p.owner = Param(req, "owner");
    p.classification = Param(req, "classification");
    p.alignment = Param(req, "alignment");
    p.port_kind = Param(req, "port_kind");
    Result<uint32_t> limit = UintParam(req, "limit", 20);
    if (!limit.ok()) return SendProblem(req, res, limit.status());
    Result<uint32_t> offset = UintParam(req, "offset", 0);
    if (!offset.ok()) return SendProblem(req, res, offset.status());
    p.limit = *limit;
    p.offset = *offset;
    Reply(req, res, platform->Search(CallerOf(req), p));
  });
  static const char* kName = "([^/]+)";
  const std::string port_path =
      std::string("/v1/products/") + kName + "/" + kName + "/ports/" + kName;
  http.Post(port_path + "/versions", [this](const httplib::Request& req, httplib::Response& res) {
    Result<Address> a = PathAddress(req, std::nullopt);
    if (!a.ok()) return SendProblem(req, res, a.status());
    if (auto sql = Param(req, "sql")) {
      return Reply(req, res, platform->PublishTableQuery(CallerOf(req), *a, *sql));
    }
    Result<table::SourceKind> kind = UploadKind(req);
    if (!kind.ok()) return SendProblem(req, res, kind.status());
    // The table reads a file: keep the upload in the data folder's scratch space meanwhile.
    std::string dir = JoinPath(JoinPath(platform->data_dir(), "scratch"), "uploads");
    FileSystem& fs = *FileSystem::Default();
    Status made = fs.CreateDirs(dir);
    if (!made.ok()) return SendProblem(req, res, made);
    std::string path = JoinPath(dir, NewUuid() + "." + std::string(table::ToString(*kind)));
    Status written = WriteFileAtomically(fs, path, req.body);
    if (!written.ok()) return SendProblem(req, res, written);
    Result<json> published = platform->PublishTableFile(CallerOf(req), *a, path, *kind);
    (void)fs.DeleteFile(path);
    Reply(req, res, published);
  });
  http.Post(port_path + "/events", [this](const httplib::Request& req, httplib::Response& res) {
    Result<Address> a = PathAddress(req, std::nullopt);
    if (!a.ok()) return SendProblem(req, res, a.status());
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& [name, value] : req.headers) {
      if (name.size() > 3 && (name[0] == 'c' || name[0] == 'C') &&
          (name[1] == 'e' || name[1] == 'E') && name[2] == '-') {
        headers.emplace_back(name, value);
      }
    }
    std::string type = req.get_header_value("Content-Type");
    if (!headers.empty()) headers.emplace_back("content-type", type);
    Result<std::string> answer =
        platform->PublishEventsText(CallerOf(req), *a, type, req.body, headers);
    if (!answer.ok()) return SendProblem(req, res, answer.status());
    res.status = 200;
    res.set_content(*answer, "application/json");
  });
  http.Get(port_path + "/events", [this](const httplib::Request& req, httplib::Response& res) {
    Result<Address> a = PathAddress(req, std::nullopt);
    if (!a.ok()) return SendProblem(req, res, a.status());
    platform::Platform::ReadRequest r;
    if (auto p = Param(req, "partition")) {
      Result<uint32_t> n = UintParam(req, "partition", 0);
      if (!n.ok()) return SendProblem(req, res, n.status());
      r.partition = static_cast<int32_t>(*n);
    }
    r.group = Param(req, "group");
    r.from = Param(req, "from").value_or("earliest");
    r.quarantine = Param(req, "quarantine").value_or("") == "true";
    Result<uint32_t> max = UintParam(req, "max", 1000);
    if (!max.ok()) return SendProblem(req, res, max.status());
    r.max_events = *max;
    Result<uint32_t> wait = UintParam(req, "wait_ms", 0);
    if (!wait.ok()) return SendProblem(req, res, wait.status());
    r.wait_ms = *wait;
    // offsets=P:N,P:N
    if (auto offsets = Param(req, "offsets")) {
      std::string text = *offsets;
      size_t start = 0;
      while (start < text.size()) {
        size_t comma = text.find(',', start);
        std::string item =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        size_t colon = item.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 >= item.size() ||
            item.find_first_not_of("0123456789:") != std::string::npos || item.size() > 30) {
          return SendProblem(req, res, InvalidArgument("offsets: expected PARTITION:OFFSET,..."));
        }
        r.offsets[std::stoi(item.substr(0, colon))] = std::stoll(item.substr(colon + 1));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    // The page as text: stored events pass through without a parse and a dump.
    Result<std::string> page = platform->ReadEventsText(CallerOf(req), *a, r);
    if (!page.ok()) return SendProblem(req, res, page.status());
    res.status = 200;
    res.set_content(std::move(*page), "application/json");
  });
  http.Post(port_path + "/offsets", [this](const httplib::Request& req, httplib::Response& res) {
    Result<Address> a = PathAddress(req, std::nullopt);
    if (!a.ok()) return SendProblem(req, res, a.status());
    Result<json> body = ParseJsonBody(req);
    if (!body.ok()) return SendProblem(req, res, body.status());
    const json& b = *body;
    if (!b.contains("group") || !b["group"].is_string() || !b.contains("offsets") ||
        !b["offsets"].is_object()) {
      return SendProblem(req, res,
                         InvalidArgument("request body: expected {\"group\": string, "
                                         "\"offsets\": {\"PARTITION\": OFFSET}}"));
    }
    std::map<uint32_t, int64_t> offsets;
    for (const auto& [k, v] : b["offsets"].items()) {
      if (k.empty() || k.size() > 6 || k.find_first_not_of("0123456789") != std::string::npos ||
          !v.is_number_integer()) {
        return SendProblem(req, res,
                           InvalidArgument("offsets: '" + k.substr(0, 20) +
                                           "' must map a partition number to an offset"));
      }
      offsets[static_cast<uint32_t>(std::stoul(k))] = v.get<int64_t>();
    }
    Reply(req, res,
          platform->CommitOffsets(CallerOf(req), *a, b["group"].get<std::string>(), offsets));
  });
  http.Post(port_path + "/snapshots", [this](const httplib::Request& req, httplib::Response& res) {
    Result<Address> a = PathAddress(req, std::nullopt);
    if (!a.ok()) return SendProblem(req, res, a.status());
    std::optional<TimestampMicros> start;
    if (auto w = Param(req, "window")) {
      Result<TimestampMicros> t = ParseRfc3339(*w);
      if (!t.ok()) return SendProblem(req, res, t.status().WithPrefix("window"));
      start = *t;
    }
    Reply(req, res, platform->PublishSnapshots(CallerOf(req), *a, start));
  });
  http.Get(port_path + "/quality", [this](const httplib::Request& req, httplib::Response& res) {
    Result<Address> a = PathAddress(req, std::nullopt);
    if (!a.ok()) return SendProblem(req, res, a.status());
    Result<uint32_t> limit = UintParam(req, "limit", 5);
    if (!limit.ok()) return SendProblem(req, res, limit.status());
    Reply(req, res, platform->QualityResults(CallerOf(req), *a, *limit));
  });
  http.Post(port_path + "/quality/check",
            [this](const httplib::Request& req, httplib::Response& res) {
              Result<Address> a = PathAddress(req, std::nullopt);
              if (!a.ok()) return SendProblem(req, res, a.status());
              Reply(req, res, platform->CheckQuality(CallerOf(req), *a));
            });
  http.Get(port_path + "/versions", [this](const httplib::Request& req, httplib::Response& res) {
    Result<Address> a = PathAddress(req, std::nullopt);
    if (!a.ok()) return SendProblem(req, res, a.status());
    Reply(req, res, platform->TableVersions(CallerOf(req), *a));
  });
  http.Get(port_path + "/sample", [this](const httplib::Request& req, httplib::Response& res) {
    Result<Address> a = PathAddress(req, Param(req, "version"));
    if (!a.ok()) return SendProblem(req, res, a.status());
    Result<uint32_t> rows = UintParam(req, "rows", 10);
    if (!rows.ok()) return SendProblem(req, res, rows.status());
    Reply(req, res, platform->Sample(CallerOf(req), *a, *rows));
  });
  http.Post("/v1/query", [this](const httplib::Request& req, httplib::Response& res) {
    Result<json> body = ParseJsonBody(req);
    if (!body.ok()) return SendProblem(req, res, body.status());
    if (!body->contains("sql") || !(*body)["sql"].is_string()) {
      return SendProblem(req, res, InvalidArgument("request body: 'sql' must be a string"));
    }
    platform::Platform::QueryOptions options;
    Result<engine::Format> format = engine::ParseFormat(body->value("format", "json"));
    if (!format.ok()) return SendProblem(req, res, format.status());
    options.format = *format;
    if (body->contains("asOf")) {
      if (!(*body)["asOf"].is_string()) {
        return SendProblem(req, res,
                           InvalidArgument("request body: 'asOf' must be an RFC 3339 time"));
      }
      Result<TimestampMicros> t = ParseRfc3339((*body)["asOf"].get<std::string>());
      if (!t.ok()) return SendProblem(req, res, t.status().WithPrefix("asOf"));
      options.as_of = *t;
    }
    Result<std::unique_ptr<platform::Platform::PreparedQuery>> prepared =
        platform->PrepareQuery(CallerOf(req), (*body)["sql"].get<std::string>(), options);
    if (!prepared.ok()) return SendProblem(req, res, prepared.status());
    // Shared by the content provider, which httplib copies; the response owns it.
    std::shared_ptr<platform::Platform::PreparedQuery> query = std::move(*prepared);
    for (const std::string& w : query->warnings()) res.set_header("Loom-Warning", w);
    res.set_chunked_content_provider(ContentTypeOf(options.format),
                                     [query](size_t, httplib::DataSink& sink) {
                                       DataSinkAdapter out(sink);
                                       Result<engine::EncodeStats> ran = query->Run(out);
                                       if (ran.ok()) {
                                         sink.done();
                                         return true;
                                       }
                                       // Headers are gone: a failed stream ends without its
                                       // terminating chunk, so the client sees a broken response,
                                       // never a silently short one.
                                       return false;
                                     });
  });
  PipelineRoutes(kName);
  http.Get(std::string("/v1/products/") + kName + "/" + kName + "/versions",
           [this](const httplib::Request& req, httplib::Response& res) {
             Result<Address> a = PathAddress(req, std::nullopt);
             if (!a.ok()) return SendProblem(req, res, a.status());
             Reply(req, res, platform->Versions(CallerOf(req), *a));
           });
  http.Get(std::string("/v1/products/") + kName + "/" + kName + "(?:/ports/" + kName + ")?",
           [this](const httplib::Request& req, httplib::Response& res) {
             Result<Address> a = PathAddress(req, Param(req, "version"));
             if (!a.ok()) return SendProblem(req, res, a.status());
             Reply(req, res, platform->ShowProduct(CallerOf(req), *a));
           });
}

void Server::Impl::PipelineRoutes(const char* name) {
  const std::string product = std::string("/v1/products/") + name + "/" + name;
  http.Get("/v1/pipelines", [this](const httplib::Request& req, httplib::Response& res) {
    Reply(req, res, platform->ListPipelines(CallerOf(req)));
  });
  http.Get(product + "/runs", [this](const httplib::Request& req, httplib::Response& res) {
    Result<Address> a = PathAddress(req, std::nullopt);
    if (!a.ok()) return SendProblem(req, res, a.status());
    Result<uint32_t> limit = UintParam(req, "limit", 20);
    if (!limit.ok()) return SendProblem(req, res, limit.status());
    Reply(req, res, platform->PipelineRuns(CallerOf(req), *a, *limit));
  });
  http.Post(product + "/runs", [this](const httplib::Request& req, httplib::Response& res) {
    Result<Address> a = PathAddress(req, std::nullopt);
    if (!a.ok()) return SendProblem(req, res, a.status());
    Reply(req, res, platform->RunPipeline(CallerOf(req), *a));
  });
  http.Post(product + "/rebuild", [this](const httplib::Request& req, httplib::Response& res) {
    Result<Address> a = PathAddress(req, std::nullopt);
    if (!a.ok()) return SendProblem(req, res, a.status());
    json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
    if (!body.is_object()) {
      return SendProblem(req, res, InvalidArgument("request body: expected a JSON object"));
    }
    platform::Platform::RebuildRequest r;
    r.downstream = body.value("downstream", false);
    if (body.contains("fromVersion")) {
      if (!body["fromVersion"].is_number_unsigned()) {
        return SendProblem(req, res, InvalidArgument("fromVersion: expected a version number"));
      }
      r.from_version = body["fromVersion"].get<uint64_t>();
    }
    if (body.contains("fromTime")) {
      Result<TimestampMicros> t = body["fromTime"].is_string()
                                      ? ParseRfc3339(body["fromTime"].get<std::string>())
                                      : Result<TimestampMicros>(InvalidArgument("not a string"));
      if (!t.ok()) {
        return SendProblem(req, res, InvalidArgument("fromTime: expected an RFC 3339 time"));
      }
      r.from_time = *t;
    }
    Reply(req, res, platform->Rebuild(CallerOf(req), *a, r));
  });
  http.Get(product + "(?:/ports/" + name + ")?/lineage",
           [this](const httplib::Request& req, httplib::Response& res) {
             Result<Address> a = PathAddress(req, std::nullopt);
             if (!a.ok()) return SendProblem(req, res, a.status());
             platform::Platform::LineageRequest r;
             std::string direction = Param(req, "direction").value_or("both");
             if (direction != "both" && direction != "upstream" && direction != "downstream") {
               return SendProblem(
                   req, res, InvalidArgument("direction: expected upstream, downstream or both"));
             }
             r.upstream = direction != "downstream";
             r.downstream = direction != "upstream";
             Result<uint32_t> depth = UintParam(req, "depth", 10);
             if (!depth.ok()) return SendProblem(req, res, depth.status());
             r.depth = static_cast<int>(*depth);
             Reply(req, res, platform->Lineage(CallerOf(req), *a, r));
           });
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  Stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::unique_ptr<Server>> Server::Start(platform::Platform& platform,
                                              const ServerOptions& options) {
  size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgument("--listen '" + options.listen + "': expected HOST:PORT");
  }
  std::string host = options.listen.substr(0, colon);
  std::string port_text = options.listen.substr(colon + 1);
  int port = 0;
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos ||
      (port = std::stoi(port_text)) > 65535) {
    return InvalidArgument("--listen '" + options.listen + "': port must be 0..65535");
  }
  std::unique_ptr<httplib::Server> http;
  if (options.tls_cert_file.empty() && options.tls_key_file.empty()) {
    http = std::make_unique<httplib::Server>();
  } else {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return InvalidArgument("HTTPS needs both --tls-cert and --tls-key");
    }
    auto https = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(),
                                                      options.tls_key_file.c_str());
    if (!https->is_valid()) {
      return InvalidArgument("cannot load the TLS certificate '" + options.tls_cert_file +
                             "' and key '" + options.tls_key_file +
                             "' (missing, unreadable, not PEM, or not a pair)");
    }
    http = std::move(https);
  }
  auto impl = std::make_unique<Impl>(std::move(http));
  impl->platform = &platform;
  impl->Routes();
  if (port == 0) {
    impl->port = impl->http.bind_to_any_port(host);
    if (impl->port < 0) return Unavailable("cannot listen on " + options.listen);
  } else {
    if (!impl->http.bind_to_port(host, port)) {
      return Unavailable("cannot listen on " + options.listen + " (address in use?)");
    }
    impl->port = port;
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->http.listen_after_bind(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

int Server::port() const { return impl_->port; }

void Server::Wait() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock, [this] { return impl_->stopped; });
}

void Server::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  impl_->http.stop();
  impl_->cv.notify_all();
}

}  // namespace loom::server
