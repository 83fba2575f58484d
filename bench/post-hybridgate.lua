-- wrk script for hybridgate: the harness's post.lua, with the stream pass asking for the model that
-- bench/gateway.sh serves from the stand-in's /stream/v1 (the stand-in picks JSON or SSE by path).
dofile(os.getenv("HARNESS") .. "/post.lua")
if os.getenv("STREAM") == "1" then
  wrk.body = wrk.body:gsub('"model":"llama%-3%-70b"', '"model":"llama-3-70b-stream"')
end
