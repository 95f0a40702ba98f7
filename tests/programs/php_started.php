<?php
// The script run after php_frames.php, prepended at start-up.
echo "started\n";
