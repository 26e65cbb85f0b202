// Loaded last (every script is `defer`, so the pages have registered).
'use strict';
SY.boot();
