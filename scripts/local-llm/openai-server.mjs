// SPDX-License-Identifier: MIT
// Copied from ../shared/local-model.md appendix A (tested version); installed next to node_modules by
// scripts/local-llm.sh, which is how `import "node-llama-cpp"` resolves.
// Minimal OpenAI-compatible HTTP server over node-llama-cpp (prebuilt llama.cpp, CPU only).
// Endpoints: GET /health, GET /v1/models, POST /v1/chat/completions (stream true/false).
// Usage: MODEL=path/to/model.gguf PORT=8080 node openai-server.mjs
import http from "node:http";
import path from "node:path";
import {getLlama, LlamaChat, ChatMLChatWrapper, TemplateChatWrapper} from "node-llama-cpp";

const MODEL = process.env.MODEL ?? "model/TinyStories-656K-Q8_0.gguf";
const PORT = Number(process.env.PORT ?? 8080);
const HOST = process.env.HOST ?? "127.0.0.1";
const MODEL_ID = process.env.MODEL_ID ?? path.basename(MODEL, ".gguf");
const PARALLEL = Number(process.env.PARALLEL ?? 2);
const CTX = Number(process.env.CTX ?? 0) || undefined; // default: model's own context length
const DEFAULT_MAX_TOKENS = Number(process.env.DEFAULT_MAX_TOKENS ?? 128);
// node-llama-cpp defaults to 4 threads even on a 2-core machine; llama.cpp threads spin-wait, so
// oversubscription makes every token take a scheduler quantum (measured: 60 tokens in 17.9 s vs 39 ms).
const THREADS = Number(process.env.THREADS ?? 1);

const t0 = Date.now();
const llama = await getLlama({gpu: false, build: "never", logLevel: "warn", maxThreads: THREADS});
const model = await llama.loadModel({modelPath: MODEL});
const context = await model.createContext({sequences: PARALLEL, contextSize: CTX, threads: THREADS});
console.error(`loaded ${MODEL} in ${Date.now() - t0} ms; ctx=${context.contextSize} parallel=${PARALLEL} threads=${THREADS}`);

// Chat template: CHAT_WRAPPER=auto|chatml|plain. A GGUF without tokenizer.chat_template gets chatml,
// which is also what llama.cpp's llama-server falls back to.
const meta = model.fileInfo.metadata;
const hasTemplate = typeof meta?.tokenizer?.chat_template === "string";
const wrapperName = process.env.CHAT_WRAPPER ?? (hasTemplate ? "auto" : "chatml");
const chatWrapper = wrapperName === "chatml" ? new ChatMLChatWrapper()
    : wrapperName === "plain" ? new TemplateChatWrapper({template: "{{history}}{{completion}}",
        historyTemplate: {system: "{{message}}\n", user: "{{message}}\n", model: "{{message}}\n"}})
    : "auto";

// llama.cpp's SPM tokenizer aborts the process (std::out_of_range) on a character that is neither in the
// vocabulary nor covered by <0xNN> byte-fallback tokens. Tiny test models (e.g. TinyStories-656K) lack them,
// so for such vocabularies replace unknown characters with a space before tokenizing.
const toks = meta?.tokenizer?.ggml?.tokens ?? [];
let sanitize = (t) => t;
if (meta?.tokenizer?.ggml?.model === "llama" && !toks.some(t => /^<0x[0-9A-F]{2}>$/.test(t))) {
    const ok = new Set();
    for (const t of toks) if ([...t].length === 1) ok.add(t === "\u2581" ? " " : t);
    sanitize = (t) => [...t].map(ch => ok.has(ch) ? ch : " ").join("");
    console.error("vocabulary has no byte-fallback tokens: unknown characters in prompts are replaced by spaces");
}
console.error(`chat wrapper: ${wrapperName}`);
// Some small GGUFs declare an EOS token that llama.cpp does not list as end-of-generation; stop on it explicitly.
const eosId = meta?.tokenizer?.ggml?.eos_token_id;
const eosStop = Number.isInteger(eosId) ? [[eosId]] : [];

// Simple pool of context sequences: one request per sequence, others wait.
const free = [];
for (let i = 0; i < PARALLEL; i++) free.push(context.getSequence());
const waiters = [];
const acquire = () => free.length ? Promise.resolve(free.pop()) : new Promise(r => waiters.push(r));
const release = (s) => { const w = waiters.shift(); if (w) w(s); else free.push(s); };

const created = Math.floor(Date.now() / 1000);
const send = (res, code, obj) => {
    const body = JSON.stringify(obj);
    res.writeHead(code, {"content-type": "application/json", "content-length": Buffer.byteLength(body)});
    res.end(body);
};
const err = (res, code, message, type = "invalid_request_error") =>
    send(res, code, {error: {message, type, param: null, code: null}});

const textOf = (c) => sanitize(typeof c === "string" ? c
    : Array.isArray(c) ? c.filter(p => p?.type === "text").map(p => p.text).join("") : "");

function toHistory(messages) {
    const h = [];
    for (const m of messages) {
        const text = textOf(m.content);
        if (m.role === "system" || m.role === "developer") h.push({type: "system", text});
        else if (m.role === "user") h.push({type: "user", text});
        else if (m.role === "assistant") h.push({type: "model", response: [text]});
        else throw new Error(`unsupported role: ${m.role}`);
    }
    h.push({type: "model", response: []});
    return h;
}

async function chat(req, res, body) {
    if (!Array.isArray(body.messages) || body.messages.length === 0) return err(res, 400, "'messages' must be a non-empty array");
    let history;
    try { history = toHistory(body.messages); } catch (e) { return err(res, 400, e.message); }
    const id = "chatcmpl-" + Math.random().toString(36).slice(2, 14);
    const stream = body.stream === true;
    const includeUsage = stream && body.stream_options?.include_usage === true;
    const stop = (body.stop == null ? [] : Array.isArray(body.stop) ? body.stop : [body.stop]).map(sanitize);
    const ac = new AbortController();
    res.on("close", () => { if (!res.writableFinished) ac.abort(); });

    const seq = await acquire();
    const chat = new LlamaChat({contextSequence: seq, chatWrapper});
    const before = seq.tokenMeter.getState();
    const base = {id, created: Math.floor(Date.now() / 1000), model: body.model ?? MODEL_ID, system_fingerprint: "node-llama-cpp"};
    const sse = (obj) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
    try {
        if (stream) {
            res.writeHead(200, {"content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive"});
            sse({...base, object: "chat.completion.chunk", choices: [{index: 0, delta: {role: "assistant", content: ""}, logprobs: null, finish_reason: null}]});
        }
        const r = await chat.generateResponse(history, {
            maxTokens: body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_TOKENS,
            temperature: body.temperature ?? 0.8,
            topP: body.top_p,
            seed: body.seed,
            customStopTriggers: [...stop, ...eosStop],
            signal: ac.signal, stopOnAbortSignal: true,
            onTextChunk: stream ? (t) => { if (t) sse({...base, object: "chat.completion.chunk", choices: [{index: 0, delta: {content: t}, logprobs: null, finish_reason: null}]}); } : undefined,
        });
        const after = seq.tokenMeter.getState();
        const usage = {
            prompt_tokens: after.usedInputTokens - before.usedInputTokens,
            completion_tokens: after.usedOutputTokens - before.usedOutputTokens,
        };
        usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
        const finish = r.metadata.stopReason === "maxTokens" ? "length" : "stop";
        if (stream) {
            sse({...base, object: "chat.completion.chunk", choices: [{index: 0, delta: {}, logprobs: null, finish_reason: finish}]});
            if (includeUsage) sse({...base, object: "chat.completion.chunk", choices: [], usage});
            res.end("data: [DONE]\n\n");
        } else {
            send(res, 200, {...base, object: "chat.completion",
                choices: [{index: 0, message: {role: "assistant", content: r.response}, logprobs: null, finish_reason: finish}], usage});
        }
    } catch (e) {
        if (stream) { if (!res.writableEnded) { sse({error: {message: String(e?.message ?? e), type: "server_error"}}); res.end(); } }
        else err(res, 500, String(e?.message ?? e), "server_error");
    } finally {
        chat.dispose({disposeSequence: false});
        await seq.clearHistory();
        release(seq);
    }
}

const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (req.method === "GET" && (url.pathname === "/health" || url.pathname === "/v1/health")) return send(res, 200, {status: "ok"});
    if (req.method === "GET" && url.pathname === "/v1/models")
        return send(res, 200, {object: "list", data: [{id: MODEL_ID, object: "model", created, owned_by: "local"}]});
    if (req.method === "POST" && url.pathname === "/v1/chat/completions") {
        let raw = "";
        req.setEncoding("utf8");
        req.on("data", d => { raw += d; if (raw.length > 8 << 20) req.destroy(); });
        req.on("end", () => {
            let body;
            try { body = JSON.parse(raw); } catch { return err(res, 400, "invalid JSON body"); }
            chat(req, res, body).catch(e => { if (!res.headersSent) err(res, 500, String(e), "server_error"); });
        });
        return;
    }
    err(res, 404, `no route for ${req.method} ${url.pathname}`, "not_found_error");
});
server.listen(PORT, HOST, () => console.error(`listening on http://${HOST}:${PORT} (model id: ${MODEL_ID})`));
const shutdown = async () => { server.close(); await context.dispose(); await model.dispose(); await llama.dispose(); process.exit(0); };
process.on("SIGTERM", shutdown); process.on("SIGINT", shutdown);
