<?php
// Connects with php-pgsql from named functions, for the PHP frame tests.
// Modes: hold (keeps a connection and a persistent one past
// POOLWATCH_LEAK_THRESHOLD), fork (the same in a child made by
// pcntl_fork), exec (execs with connections open: leaked), clean.

function leak_a() {
  return pg_connect("application_name=php_frames"); // pwtest:leak_a
}

function leak_b() {
  return pg_connect("application_name=php_frames", PGSQL_CONNECT_FORCE_NEW); // pwtest:leak_b
}

class Repository {
  public function persistent() {
    return pg_pconnect("application_name=php_frames_persistent"); // pwtest:persistent
  }
}

$mode = $argv[1];
if ($mode == "hold") {
  $held = leak_a(); // pwtest:hold_a
  $kept = (new Repository())->persistent();
  usleep(600000);
} elseif ($mode == "fork") {
  $child = pcntl_fork();
  if ($child == 0) {
    $mine = leak_b(); // pwtest:fork
    usleep(600000);
    exit(0);
  }
  pcntl_waitpid($child, $status);
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
