-- GET one page of the project list, always the same one: page 1, a deep page
-- by number, or a deep page by a cursor fetched beforehand (data.path).
local common = require("common")

common.install({
  request = function()
    return wrk.format("GET", data.path, read_headers)
  end,
})
