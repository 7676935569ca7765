-- GET /v1/projects/{id}, each connection going round its own share of the ids.
local common = require("common")

local mine, position

common.install({
  init = function()
    mine = common.slice(data.ids)
    position = 1
  end,
  request = function()
    return wrk.format("GET", "/v1/projects/" .. mine[position], read_headers)
  end,
  advance = function()
    position = position % #mine + 1
  end,
})
