// The tour's sections, one file each; tour.cpp runs them in order.
#pragma once

void tour_system();
void tour_scoped();
void tour_pool();
void tour_debug();
void tour_adapters();
