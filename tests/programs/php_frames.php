<?php
// Connects with php-pgsql from named functions, for the PHP frame tests.
// Modes: hold (keeps a connection and a persistent one past
// POOLWATCH_LEAK_THRESHOLD), fork (the same in a child made by
// pcntl_fork), shutdown (the same in a shutdown function), exec (execs
// with connections open: leaked), clean. As an auto_prepend_file with
// PWTEST_STARTUP=1 it holds one before the script runs.

function leak_a() {
  return pg_connect("application_name=php_frames"); // pwtest:leak_a
}

function leak_b() {
  return pg_connect("application_name=php_frames", PGSQL_CONNECT_FORCE_NEW); // pwtest:leak_b
}

// Holds until poolwatch's event log (PWTEST_EVENTS) shows $count
// connections reported as held too long, 30 s at most.
function wait_past_threshold($count) {
  $path = getenv("PWTEST_EVENTS");
  if (!$path) {
    usleep(600000);
    return;
  }
  for ($i = 0; $i < 1500; $i++) {
    $text = @file_get_contents($path);
    if ($text !== false && preg_match_all('/ held_too_long pool=/', $text) >= $count) return;
    usleep(20000);
  }
}

class Repository {
  public function persistent() {
    return pg_pconnect("application_name=php_frames_persistent"); // pwtest:persistent
  }
}

if (getenv("PWTEST_STARTUP")) {
  $started = leak_a(); // pwtest:startup
  wait_past_threshold(1);
  pg_close($started);
  return;
}

$mode = $argv[1];
if ($mode == "hold") {
  $held = leak_a(); // pwtest:hold_a
  $kept = (new Repository())->persistent();
  wait_past_threshold(2);
} elseif ($mode == "fork") {
  $child = pcntl_fork();
  if ($child == 0) {
    $mine = leak_b(); // pwtest:fork
    wait_past_threshold(1);
    exit(0);
  }
  pcntl_waitpid($child, $status);
} elseif ($mode == "shutdown") {
  register_shutdown_function(function () {
    $late = leak_a(); // pwtest:shutdown
    wait_past_threshold(1);
  });
} elseif ($mode == "exec") {
  $kept = [leak_a(), leak_b(), leak_b()];
  echo "php_frames exec done\n";
  pcntl_exec("/bin/true");
} elseif ($mode == "clean") {
  $c = pg_connect("application_name=php_frames");
  pg_query($c, "select 1");
  pg_close($c);
  $p = pg_pconnect("application_name=php_frames_persistent");
  pg_query($p, "select 1");
}
echo "php_frames $mode done\n";
