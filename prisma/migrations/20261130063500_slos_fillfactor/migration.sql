-- The leader rewrites every SLO's figures as they move (every SLO_EVALUATION_SECONDS): room on each page lets
-- those updates stay on the page (HOT) without touching the indexes. Applies to pages written from now on.
ALTER TABLE "slos" SET (fillfactor = 70);
