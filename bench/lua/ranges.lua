-- Random byte ranges of one file, the same sequence for every contender.
-- Arguments (after "--"): mode ("readat" or "range"), path, file size, range length, seed.
-- "readat" appends &offset=&limit= to the path; "range" sends an HTTP Range header.
local counter = 0

function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end

local mode, path, size, length

function init(args)
  mode = args[1]
  path = args[2]
  size = tonumber(args[3])
  length = tonumber(args[4])
  math.randomseed(tonumber(args[5]) + thread_id)
end

function request()
  local offset = math.random(0, size - length)
  if mode == "readat" then
    return wrk.format("GET", path .. "&offset=" .. offset .. "&limit=" .. length)
  end
  return wrk.format("GET", path, {["Range"] = "bytes=" .. offset .. "-" .. (offset + length - 1)})
end
